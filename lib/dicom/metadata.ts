import { getItems, getNumber, getNumbers, getString, getStrings } from './dataset';
import { type Tag, Tags } from './tags';
import type { DicomDataset, DicomItem } from './types';

/**
 * The attributes the platform catalogues and displays, as a plain JSON-serialisable object.
 * Missing attributes are null; a string attribute that is present but empty is ''. Strings are
 * trimmed of padding, person names are rendered as pydicom prints them ('Family^Given=…').
 */
export interface DicomMetadata {
  patientName: string | null;
  patientId: string | null;
  issuerOfPatientId: string | null;
  patientBirthDate: string | null;
  patientSex: string | null;
  studyInstanceUid: string | null;
  studyDate: string | null;
  studyTime: string | null;
  accessionNumber: string | null;
  studyDescription: string | null;
  referringPhysicianName: string | null;
  seriesInstanceUid: string | null;
  seriesNumber: number | null;
  seriesDescription: string | null;
  modality: string | null;
  bodyPartExamined: string | null;
  sopInstanceUid: string | null;
  sopClassUid: string | null;
  instanceNumber: number | null;
  /** From the file meta group; null for files without one (their encoding was guessed). */
  transferSyntaxUid: string | null;
  /** All values of (0008,0005); the first may be '' (default repertoire before ISO 2022 extensions). */
  specificCharacterSet: string[] | null;
  rows: number | null;
  columns: number | null;
  numberOfFrames: number | null;
  samplesPerPixel: number | null;
  photometricInterpretation: string | null;
  bitsAllocated: number | null;
  bitsStored: number | null;
  highBit: number | null;
  pixelRepresentation: number | null;
  planarConfiguration: number | null;
  /** [row spacing, column spacing] in mm. */
  pixelSpacing: [number, number] | null;
  sliceThickness: number | null;
  imagePositionPatient: [number, number, number] | null;
  imageOrientationPatient: [number, number, number, number, number, number] | null;
  sliceLocation: number | null;
  windowCenter: number[] | null;
  windowWidth: number[] | null;
  rescaleSlope: number | null;
  rescaleIntercept: number | null;
  /**
   * Where rescale, window, pixel spacing, slice thickness and plane position/orientation came
   * from: the top level, or (enhanced multi-frame objects) the first frame's functional groups.
   */
  frameAttributesFrom: 'top-level' | 'functional-groups';
  hasPixelData: boolean;
  pixelData: {
    /** File offset of the value, or offset in the inflated dataset when `deflated`. */
    offset: number;
    /** Declared length; null when encapsulated. */
    length: number | null;
    encapsulated: boolean;
    vr: string;
    deflated: boolean;
  } | null;
  preamble: boolean;
  hasFileMeta: boolean;
}

const str = (item: DicomItem, tag: Tag): string | null => getString(item, tag) ?? null;
const num = (item: DicomItem, tag: Tag): number | null => getNumber(item, tag) ?? null;

function tuple<N extends number>(item: DicomItem | undefined, tag: Tag, size: N): number[] | null {
  const values = item ? getNumbers(item, tag) : undefined;
  return values && values.length === size ? values : null;
}

/**
 * The item of functional group `sequence` (e.g. Pixel Measures) that holds `attribute` for the
 * first frame: per-frame groups first, then the shared ones (PS3.3 C.7.6.16).
 */
function functionalGroup(dataset: DicomDataset, sequence: Tag, attribute: Tag): DicomItem | undefined {
  for (const groups of [Tags.PerFrameFunctionalGroupsSequence, Tags.SharedFunctionalGroupsSequence]) {
    const frame = getItems(dataset, groups)?.[0];
    const item = frame ? getItems(frame, sequence)?.[0] : undefined;
    if (item?.elements.has(attribute)) return item;
  }
  return undefined;
}

/** Extracts DicomMetadata from a parsed dataset. */
export function extractMetadata(dataset: DicomDataset): DicomMetadata {
  let fromFunctionalGroups = false;
  const frameItem = (sequence: Tag, attribute: Tag): DicomItem | undefined => {
    if (dataset.elements.has(attribute)) return dataset;
    const item = functionalGroup(dataset, sequence, attribute);
    if (item) fromFunctionalGroups = true;
    return item;
  };
  const frameNumber = (sequence: Tag, attribute: Tag): number | null => {
    const item = frameItem(sequence, attribute);
    return item ? num(item, attribute) : null;
  };
  const frameNumbers = (sequence: Tag, attribute: Tag): number[] | null => {
    const item = frameItem(sequence, attribute);
    return (item && getNumbers(item, attribute)) ?? null;
  };

  const pixelSpacing = tuple(frameItem(Tags.PixelMeasuresSequence, Tags.PixelSpacing), Tags.PixelSpacing, 2);
  const position = tuple(frameItem(Tags.PlanePositionSequence, Tags.ImagePositionPatient), Tags.ImagePositionPatient, 3);
  const orientation = tuple(frameItem(Tags.PlaneOrientationSequence, Tags.ImageOrientationPatient), Tags.ImageOrientationPatient, 6);
  const pixelData = dataset.pixelData;

  return {
    patientName: str(dataset, Tags.PatientName),
    patientId: str(dataset, Tags.PatientId),
    issuerOfPatientId: str(dataset, Tags.IssuerOfPatientId),
    patientBirthDate: str(dataset, Tags.PatientBirthDate),
    patientSex: str(dataset, Tags.PatientSex),
    studyInstanceUid: str(dataset, Tags.StudyInstanceUid),
    studyDate: str(dataset, Tags.StudyDate),
    studyTime: str(dataset, Tags.StudyTime),
    accessionNumber: str(dataset, Tags.AccessionNumber),
    studyDescription: str(dataset, Tags.StudyDescription),
    referringPhysicianName: str(dataset, Tags.ReferringPhysicianName),
    seriesInstanceUid: str(dataset, Tags.SeriesInstanceUid),
    seriesNumber: num(dataset, Tags.SeriesNumber),
    seriesDescription: str(dataset, Tags.SeriesDescription),
    modality: str(dataset, Tags.Modality),
    bodyPartExamined: str(dataset, Tags.BodyPartExamined),
    sopInstanceUid: str(dataset, Tags.SopInstanceUid),
    sopClassUid: str(dataset, Tags.SopClassUid),
    instanceNumber: num(dataset, Tags.InstanceNumber),
    transferSyntaxUid: dataset.transferSyntaxUid,
    specificCharacterSet: getStrings(dataset, Tags.SpecificCharacterSet) ?? null,
    rows: num(dataset, Tags.Rows),
    columns: num(dataset, Tags.Columns),
    numberOfFrames: num(dataset, Tags.NumberOfFrames),
    samplesPerPixel: num(dataset, Tags.SamplesPerPixel),
    photometricInterpretation: str(dataset, Tags.PhotometricInterpretation),
    bitsAllocated: num(dataset, Tags.BitsAllocated),
    bitsStored: num(dataset, Tags.BitsStored),
    highBit: num(dataset, Tags.HighBit),
    pixelRepresentation: num(dataset, Tags.PixelRepresentation),
    planarConfiguration: num(dataset, Tags.PlanarConfiguration),
    pixelSpacing: pixelSpacing as [number, number] | null,
    sliceThickness: frameNumber(Tags.PixelMeasuresSequence, Tags.SliceThickness),
    imagePositionPatient: position as [number, number, number] | null,
    imageOrientationPatient: orientation as [number, number, number, number, number, number] | null,
    sliceLocation: num(dataset, Tags.SliceLocation),
    windowCenter: frameNumbers(Tags.FrameVoiLutSequence, Tags.WindowCenter),
    windowWidth: frameNumbers(Tags.FrameVoiLutSequence, Tags.WindowWidth),
    rescaleSlope: frameNumber(Tags.PixelValueTransformationSequence, Tags.RescaleSlope),
    rescaleIntercept: frameNumber(Tags.PixelValueTransformationSequence, Tags.RescaleIntercept),
    frameAttributesFrom: fromFunctionalGroups ? 'functional-groups' : 'top-level',
    hasPixelData: pixelData !== null,
    pixelData: pixelData && {
      offset: pixelData.offset,
      length: pixelData.length ?? null,
      encapsulated: pixelData.encapsulated,
      vr: pixelData.vr,
      deflated: dataset.deflated,
    },
    preamble: dataset.preamble,
    hasFileMeta: dataset.hasFileMeta,
  };
}
