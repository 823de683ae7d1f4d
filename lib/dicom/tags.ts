import type { Vr } from './vr';

/**
 * Tags are numbers `(group << 16 | element) >>> 0`, e.g. 0x00100010 for (0010,0010): cheap to
 * compare and to use as Map keys. `formatTag` / `tagHex` turn them into text.
 */
export type Tag = number;

export function makeTag(group: number, element: number): Tag {
  return ((group & 0xffff) * 0x10000 + (element & 0xffff)) >>> 0;
}

export const tagGroup = (tag: Tag): number => tag >>> 16;
export const tagElement = (tag: Tag): number => tag & 0xffff;

/** 'GGGGEEEE', upper case: the form DICOM JSON (PS3.18 F.2) uses. */
export function tagHex(tag: Tag): string {
  return (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/** '(GGGG,EEEE)', the form people read. */
export function formatTag(tag: Tag): string {
  const hex = tagHex(tag);
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

/** Accepts 'GGGGEEEE', '(GGGG,EEEE)' or 'GGGG,EEEE'; undefined for anything else. */
export function parseTag(text: string): Tag | undefined {
  const match = /^\(?([0-9a-f]{4}),?([0-9a-f]{4})\)?$/i.exec(text.trim());
  return match ? makeTag(parseInt(match[1] as string, 16), parseInt(match[2] as string, 16)) : undefined;
}

export const isPrivateTag = (tag: Tag): boolean => (tagGroup(tag) & 1) === 1;

/** (gggg,0010-00FF) in an odd group reserves a block of private elements and names its owner. */
export const isPrivateCreator = (tag: Tag): boolean => isPrivateTag(tag) && tagElement(tag) >= 0x10 && tagElement(tag) <= 0xff;

export const Tags = {
  FileMetaInformationGroupLength: 0x00020000,
  MediaStorageSopClassUid: 0x00020002,
  MediaStorageSopInstanceUid: 0x00020003,
  TransferSyntaxUid: 0x00020010,
  SpecificCharacterSet: 0x00080005,
  ImageType: 0x00080008,
  SopClassUid: 0x00080016,
  SopInstanceUid: 0x00080018,
  StudyDate: 0x00080020,
  StudyTime: 0x00080030,
  AccessionNumber: 0x00080050,
  Modality: 0x00080060,
  ReferringPhysicianName: 0x00080090,
  StudyDescription: 0x00081030,
  SeriesDescription: 0x0008103e,
  PatientName: 0x00100010,
  PatientId: 0x00100020,
  IssuerOfPatientId: 0x00100021,
  PatientBirthDate: 0x00100030,
  PatientSex: 0x00100040,
  BodyPartExamined: 0x00180015,
  SliceThickness: 0x00180050,
  StudyInstanceUid: 0x0020000d,
  SeriesInstanceUid: 0x0020000e,
  SeriesNumber: 0x00200011,
  InstanceNumber: 0x00200013,
  ImagePositionPatient: 0x00200032,
  ImageOrientationPatient: 0x00200037,
  SliceLocation: 0x00201041,
  PlanePositionSequence: 0x00209113,
  PlaneOrientationSequence: 0x00209116,
  SamplesPerPixel: 0x00280002,
  PhotometricInterpretation: 0x00280004,
  PlanarConfiguration: 0x00280006,
  NumberOfFrames: 0x00280008,
  Rows: 0x00280010,
  Columns: 0x00280011,
  PixelSpacing: 0x00280030,
  BitsAllocated: 0x00280100,
  BitsStored: 0x00280101,
  HighBit: 0x00280102,
  PixelRepresentation: 0x00280103,
  WindowCenter: 0x00281050,
  WindowWidth: 0x00281051,
  RescaleIntercept: 0x00281052,
  RescaleSlope: 0x00281053,
  PixelMeasuresSequence: 0x00289110,
  FrameVoiLutSequence: 0x00289132,
  PixelValueTransformationSequence: 0x00289145,
  SharedFunctionalGroupsSequence: 0x52009229,
  PerFrameFunctionalGroupsSequence: 0x52009230,
  ExtendedOffsetTable: 0x7fe00001,
  ExtendedOffsetTableLengths: 0x7fe00002,
  FloatPixelData: 0x7fe00008,
  DoubleFloatPixelData: 0x7fe00009,
  PixelData: 0x7fe00010,
  Item: 0xfffee000,
  ItemDelimitationItem: 0xfffee00d,
  SequenceDelimitationItem: 0xfffee0dd,
} as const;

/** A dictionary VR; 'US|SS' and the like are resolved by the parser (PS3.6 lists them as "US or SS"). */
export type DictionaryVr = Vr | 'US|SS' | 'OB|OW' | 'US|OW' | 'US|SS|OW';

export interface DictionaryEntry {
  keyword: string;
  vr: DictionaryVr;
}

// The standard attributes this platform reads plus the common ones a tag browser meets in CT, MR,
// CR, US, XA, NM, SC, SEG, SR, RT and waveform objects. Not the whole PS3.6: tags missing here
// still parse (with their explicit VR, or as UN in implicit VR files), they only lack a keyword.
const DICTIONARY_TEXT = `
00020000 UL FileMetaInformationGroupLength
00020001 OB FileMetaInformationVersion
00020002 UI MediaStorageSOPClassUID
00020003 UI MediaStorageSOPInstanceUID
00020010 UI TransferSyntaxUID
00020012 UI ImplementationClassUID
00020013 SH ImplementationVersionName
00020016 AE SourceApplicationEntityTitle
00020017 AE SendingApplicationEntityTitle
00020018 AE ReceivingApplicationEntityTitle
00020100 UI PrivateInformationCreatorUID
00020102 OB PrivateInformation
00041130 CS FileSetID
00041200 UL OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity
00041202 UL OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity
00041212 US FileSetConsistencyFlag
00041220 SQ DirectoryRecordSequence
00041400 UL OffsetOfTheNextDirectoryRecord
00041410 US RecordInUseFlag
00041420 UL OffsetOfReferencedLowerLevelDirectoryEntity
00041430 CS DirectoryRecordType
00041500 CS ReferencedFileID
00041510 UI ReferencedSOPClassUIDInFile
00041511 UI ReferencedSOPInstanceUIDInFile
00041512 UI ReferencedTransferSyntaxUIDInFile
00080005 CS SpecificCharacterSet
00080008 CS ImageType
00080012 DA InstanceCreationDate
00080013 TM InstanceCreationTime
00080014 UI InstanceCreatorUID
00080016 UI SOPClassUID
00080018 UI SOPInstanceUID
00080020 DA StudyDate
00080021 DA SeriesDate
00080022 DA AcquisitionDate
00080023 DA ContentDate
0008002A DT AcquisitionDateTime
00080030 TM StudyTime
00080031 TM SeriesTime
00080032 TM AcquisitionTime
00080033 TM ContentTime
00080050 SH AccessionNumber
00080051 SQ IssuerOfAccessionNumberSequence
00080052 CS QueryRetrieveLevel
00080054 AE RetrieveAETitle
00080056 CS InstanceAvailability
00080060 CS Modality
00080061 CS ModalitiesInStudy
00080064 CS ConversionType
00080068 CS PresentationIntentType
00080070 LO Manufacturer
00080080 LO InstitutionName
00080081 ST InstitutionAddress
00080090 PN ReferringPhysicianName
00080092 ST ReferringPhysicianAddress
00080094 SH ReferringPhysicianTelephoneNumbers
00080100 SH CodeValue
00080102 SH CodingSchemeDesignator
00080103 SH CodingSchemeVersion
00080104 LO CodeMeaning
00080105 CS MappingResource
00080201 SH TimezoneOffsetFromUTC
00081010 SH StationName
00081030 LO StudyDescription
00081032 SQ ProcedureCodeSequence
0008103E LO SeriesDescription
00081040 LO InstitutionalDepartmentName
00081048 PN PhysiciansOfRecord
00081050 PN PerformingPhysicianName
00081060 PN NameOfPhysiciansReadingStudy
00081070 PN OperatorsName
00081080 LO AdmittingDiagnosesDescription
00081090 LO ManufacturerModelName
00081110 SQ ReferencedStudySequence
00081111 SQ ReferencedPerformedProcedureStepSequence
00081115 SQ ReferencedSeriesSequence
00081120 SQ ReferencedPatientSequence
00081140 SQ ReferencedImageSequence
00081150 UI ReferencedSOPClassUID
00081155 UI ReferencedSOPInstanceUID
00081160 IS ReferencedFrameNumber
00081199 SQ ReferencedSOPSequence
00081250 SQ RelatedSeriesSequence
00082111 ST DerivationDescription
00082112 SQ SourceImageSequence
00082144 IS RecommendedDisplayFrameRate
00082218 SQ AnatomicRegionSequence
00089007 CS FrameType
00089092 SQ ReferencedImageEvidenceSequence
00089121 SQ ReferencedRawDataSequence
00089123 UI CreatorVersionUID
00089124 SQ DerivationImageSequence
00089205 CS PixelPresentation
00089206 CS VolumetricProperties
00089207 CS VolumeBasedCalculationTechnique
00089208 CS ComplexImageComponent
00089209 CS AcquisitionContrast
00100010 PN PatientName
00100020 LO PatientID
00100021 LO IssuerOfPatientID
00100022 CS TypeOfPatientID
00100030 DA PatientBirthDate
00100032 TM PatientBirthTime
00100040 CS PatientSex
00101000 LO OtherPatientIDs
00101001 PN OtherPatientNames
00101002 SQ OtherPatientIDsSequence
00101010 AS PatientAge
00101020 DS PatientSize
00101030 DS PatientWeight
00101040 LO PatientAddress
00102160 SH EthnicGroup
00102180 SH Occupation
001021B0 LT AdditionalPatientHistory
00104000 LT PatientComments
00180010 LO ContrastBolusAgent
00180015 CS BodyPartExamined
00180020 CS ScanningSequence
00180021 CS SequenceVariant
00180022 CS ScanOptions
00180023 CS MRAcquisitionType
00180024 SH SequenceName
00180025 CS AngioFlag
00180040 IS CineRate
00180050 DS SliceThickness
00180060 DS KVP
00180080 DS RepetitionTime
00180081 DS EchoTime
00180082 DS InversionTime
00180083 DS NumberOfAverages
00180084 DS ImagingFrequency
00180085 SH ImagedNucleus
00180086 IS EchoNumbers
00180087 DS MagneticFieldStrength
00180088 DS SpacingBetweenSlices
00180089 IS NumberOfPhaseEncodingSteps
00180090 DS DataCollectionDiameter
00180091 IS EchoTrainLength
00180093 DS PercentSampling
00180094 DS PercentPhaseFieldOfView
00180095 DS PixelBandwidth
00181000 LO DeviceSerialNumber
00181012 DA DateOfSecondaryCapture
00181014 TM TimeOfSecondaryCapture
00181016 LO SecondaryCaptureDeviceManufacturer
00181018 LO SecondaryCaptureDeviceManufacturerModelName
00181020 LO SoftwareVersions
00181030 LO ProtocolName
00181063 DS FrameTime
00181065 DS FrameTimeVector
00181066 DS FrameDelay
00181088 IS HeartRate
00181100 DS ReconstructionDiameter
00181110 DS DistanceSourceToDetector
00181111 DS DistanceSourceToPatient
00181120 DS GantryDetectorTilt
00181130 DS TableHeight
00181140 CS RotationDirection
00181150 IS ExposureTime
00181151 IS XRayTubeCurrent
00181152 IS Exposure
00181160 SH FilterType
00181164 DS ImagerPixelSpacing
00181190 DS FocalSpots
00181210 SH ConvolutionKernel
00181250 SH ReceiveCoilName
00181251 SH TransmitCoilName
00181310 US AcquisitionMatrix
00181312 CS InPlanePhaseEncodingDirection
00181314 DS FlipAngle
00181316 DS SAR
00181318 DS dBdt
00185020 LO ProcessingFunction
00185100 CS PatientPosition
00185101 CS ViewPosition
00189004 CS ContentQualification
00189005 SH PulseSequenceName
00189074 DT FrameAcquisitionDateTime
00189082 FD EffectiveEchoTime
00189087 FD DiffusionBValue
00189089 FD DiffusionGradientOrientation
00189114 SQ MREchoSequence
00189117 SQ MRDiffusionSequence
00189118 SQ CardiacSynchronizationSequence
00189119 SQ MRAveragesSequence
00189125 SQ MRFOVGeometrySequence
00189151 DT FrameReferenceDateTime
00189220 FD FrameAcquisitionDuration
00189226 SQ MRImageFrameTypeSequence
00189301 SQ CTAcquisitionTypeSequence
00189329 SQ CTImageFrameTypeSequence
0020000D UI StudyInstanceUID
0020000E UI SeriesInstanceUID
00200010 SH StudyID
00200011 IS SeriesNumber
00200012 IS AcquisitionNumber
00200013 IS InstanceNumber
00200020 CS PatientOrientation
00200032 DS ImagePositionPatient
00200037 DS ImageOrientationPatient
00200052 UI FrameOfReferenceUID
00200060 CS Laterality
00200062 CS ImageLaterality
00200100 IS TemporalPositionIdentifier
00200105 IS NumberOfTemporalPositions
00201002 IS ImagesInAcquisition
00201040 LO PositionReferenceIndicator
00201041 DS SliceLocation
00204000 LT ImageComments
00209056 SH StackID
00209057 UL InStackPositionNumber
00209071 SQ FrameAnatomySequence
00209111 SQ FrameContentSequence
00209113 SQ PlanePositionSequence
00209116 SQ PlaneOrientationSequence
00209128 UL TemporalPositionIndex
00209153 FD NominalCardiacTriggerDelayTime
00209156 US FrameAcquisitionNumber
00209157 UL DimensionIndexValues
00209158 LT FrameComments
00209161 UI ConcatenationUID
00209162 US InConcatenationNumber
00209163 US InConcatenationTotalNumber
00209164 UI DimensionOrganizationUID
00209165 AT DimensionIndexPointer
00209167 AT FunctionalGroupPointer
00209213 LO DimensionIndexPrivateCreator
00209221 SQ DimensionOrganizationSequence
00209222 SQ DimensionIndexSequence
00209228 UL ConcatenationFrameOffsetNumber
00209238 LO FunctionalGroupPrivateCreator
00209421 LO DimensionDescriptionLabel
00280002 US SamplesPerPixel
00280004 CS PhotometricInterpretation
00280006 US PlanarConfiguration
00280008 IS NumberOfFrames
00280009 AT FrameIncrementPointer
00280010 US Rows
00280011 US Columns
00280014 US UltrasoundColorDataPresent
00280030 DS PixelSpacing
00280034 IS PixelAspectRatio
00280051 CS CorrectedImage
00280100 US BitsAllocated
00280101 US BitsStored
00280102 US HighBit
00280103 US PixelRepresentation
00280106 US|SS SmallestImagePixelValue
00280107 US|SS LargestImagePixelValue
00280108 US|SS SmallestPixelValueInSeries
00280109 US|SS LargestPixelValueInSeries
00280120 US|SS PixelPaddingValue
00280121 US|SS PixelPaddingRangeLimit
00280300 CS QualityControlImage
00280301 CS BurnedInAnnotation
00280A02 CS PixelSpacingCalibrationType
00281040 CS PixelIntensityRelationship
00281041 SS PixelIntensityRelationshipSign
00281050 DS WindowCenter
00281051 DS WindowWidth
00281052 DS RescaleIntercept
00281053 DS RescaleSlope
00281054 LO RescaleType
00281055 LO WindowCenterWidthExplanation
00281056 CS VOILUTFunction
00281101 US|SS RedPaletteColorLookupTableDescriptor
00281102 US|SS GreenPaletteColorLookupTableDescriptor
00281103 US|SS BluePaletteColorLookupTableDescriptor
00281199 UI PaletteColorLookupTableUID
00281201 OW RedPaletteColorLookupTableData
00281202 OW GreenPaletteColorLookupTableData
00281203 OW BluePaletteColorLookupTableData
00281221 OW SegmentedRedPaletteColorLookupTableData
00281222 OW SegmentedGreenPaletteColorLookupTableData
00281223 OW SegmentedBluePaletteColorLookupTableData
00282000 OB ICCProfile
00282110 CS LossyImageCompression
00282112 DS LossyImageCompressionRatio
00282114 CS LossyImageCompressionMethod
00283000 SQ ModalityLUTSequence
00283002 US|SS LUTDescriptor
00283003 LO LUTExplanation
00283004 LO ModalityLUTType
00283006 US|OW LUTData
00283010 SQ VOILUTSequence
00289001 UL DataPointRows
00289002 UL DataPointColumns
00289108 CS DataRepresentation
00289110 SQ PixelMeasuresSequence
00289132 SQ FrameVOILUTSequence
00289145 SQ PixelValueTransformationSequence
00321032 PN RequestingPhysician
00321060 LO RequestedProcedureDescription
003A0004 CS WaveformOriginality
003A0005 US NumberOfWaveformChannels
003A0010 UL NumberOfWaveformSamples
003A001A DS SamplingFrequency
003A0200 SQ ChannelDefinitionSequence
00400244 DA PerformedProcedureStepStartDate
00400245 TM PerformedProcedureStepStartTime
00400253 SH PerformedProcedureStepID
00400254 LO PerformedProcedureStepDescription
00400260 SQ PerformedProtocolCodeSequence
00400275 SQ RequestAttributesSequence
004008EA SQ MeasurementUnitsCodeSequence
00401001 SH RequestedProcedureID
00409096 SQ RealWorldValueMappingSequence
00409210 SH LUTLabel
00409211 US|SS RealWorldValueLastValueMapped
00409216 US|SS RealWorldValueFirstValueMapped
00409224 FD RealWorldValueIntercept
00409225 FD RealWorldValueSlope
0040A010 CS RelationshipType
0040A040 CS ValueType
0040A043 SQ ConceptNameCodeSequence
0040A050 CS ContinuityOfContent
0040A073 SQ VerifyingObserverSequence
0040A075 PN VerifyingObserverName
0040A088 SQ VerifyingObserverIdentificationCodeSequence
0040A120 DT DateTime
0040A121 DA Date
0040A122 TM Time
0040A123 PN PersonName
0040A124 UI UID
0040A160 UT TextValue
0040A168 SQ ConceptCodeSequence
0040A300 SQ MeasuredValueSequence
0040A30A DS NumericValue
0040A370 SQ ReferencedRequestSequence
0040A372 SQ PerformedProcedureCodeSequence
0040A375 SQ CurrentRequestedProcedureEvidenceSequence
0040A491 CS CompletionFlag
0040A493 CS VerificationFlag
0040A504 SQ ContentTemplateSequence
0040A730 SQ ContentSequence
0040DB00 CS TemplateIdentifier
00540011 US NumberOfEnergyWindows
00540021 US NumberOfDetectors
00540081 US NumberOfSlices
00541001 CS Units
00541330 US ImageIndex
00620001 CS SegmentationType
00620002 SQ SegmentSequence
00620004 US SegmentNumber
00620005 LO SegmentLabel
00620008 CS SegmentAlgorithmType
0062000A SQ SegmentIdentificationSequence
0062000B US ReferencedSegmentNumber
0062000E US MaximumFractionalValue
00620010 CS SegmentationFractionalType
00880200 SQ IconImageSequence
30040002 CS DoseUnits
30040004 CS DoseType
3004000A CS DoseSummationType
3004000C DS GridFrameOffsetVector
3004000E DS DoseGridScaling
30060002 SH StructureSetLabel
30060004 LO StructureSetName
30060008 DA StructureSetDate
30060009 TM StructureSetTime
30060010 SQ ReferencedFrameOfReferenceSequence
30060020 SQ StructureSetROISequence
30060022 IS ROINumber
30060024 UI ReferencedFrameOfReferenceUID
30060026 LO ROIName
3006002A IS ROIDisplayColor
30060036 CS ROIGenerationAlgorithm
30060039 SQ ROIContourSequence
30060040 SQ ContourSequence
30060042 CS ContourGeometricType
30060046 IS NumberOfContourPoints
30060050 DS ContourData
30060080 SQ RTROIObservationsSequence
30060084 IS ReferencedROINumber
300600A4 CS RTROIInterpretedType
300A0002 SH RTPlanLabel
300A0003 LO RTPlanName
300A0006 DA RTPlanDate
300A0007 TM RTPlanTime
300A000C CS RTPlanGeometry
300A0070 SQ FractionGroupSequence
300A00B0 SQ BeamSequence
300A00C0 IS BeamNumber
300A00C2 LO BeamName
300C0002 SQ ReferencedRTPlanSequence
300C0060 SQ ReferencedStructureSetSequence
300E0002 CS ApprovalStatus
52009229 SQ SharedFunctionalGroupsSequence
52009230 SQ PerFrameFunctionalGroupsSequence
54000100 SQ WaveformSequence
54000110 OB|OW ChannelMinimumValue
54000112 OB|OW ChannelMaximumValue
54001004 US WaveformBitsAllocated
54001006 CS WaveformSampleInterpretation
5400100A OB|OW WaveformPaddingValue
54001010 OB|OW WaveformData
7FE00001 OV ExtendedOffsetTable
7FE00002 OV ExtendedOffsetTableLengths
7FE00008 OF FloatPixelData
7FE00009 OD DoubleFloatPixelData
7FE00010 OB|OW PixelData
FFFAFFFA SQ DigitalSignaturesSequence
FFFCFFFC OB DataSetTrailingPadding
`;

const DICTIONARY: ReadonlyMap<Tag, DictionaryEntry> = new Map(
  DICTIONARY_TEXT.trim()
    .split('\n')
    .map((line): [Tag, DictionaryEntry] => {
      const [hex, vr, keyword] = line.split(' ') as [string, DictionaryVr, string];
      return [parseInt(hex, 16) >>> 0, { keyword, vr }];
    }),
);

const ITEM_KEYWORDS: ReadonlyMap<Tag, string> = new Map([
  [Tags.Item, 'Item'],
  [Tags.ItemDelimitationItem, 'ItemDelimitationItem'],
  [Tags.SequenceDelimitationItem, 'SequenceDelimitationItem'],
]);

export function lookupTag(tag: Tag): DictionaryEntry | undefined {
  const entry = DICTIONARY.get(tag);
  if (entry) return entry;
  // Group lengths (gggg,0000) are retired but still common; their VR is always UL.
  if (tagElement(tag) === 0 && tagGroup(tag) !== 0xfffe) return { keyword: isPrivateTag(tag) ? 'PrivateGroupLength' : 'GenericGroupLength', vr: 'UL' };
  if (isPrivateCreator(tag)) return { keyword: 'PrivateCreator', vr: 'LO' };
  return undefined;
}

/** Keyword for display: the dictionary keyword, or '' for unknown and private tags. */
export function tagKeyword(tag: Tag): string {
  return lookupTag(tag)?.keyword ?? ITEM_KEYWORDS.get(tag) ?? '';
}

const BY_KEYWORD: ReadonlyMap<string, Tag> = new Map(Array.from(DICTIONARY, ([tag, entry]) => [entry.keyword, tag]));

/** Tag number of a dictionary keyword, e.g. 'PatientName' → 0x00100010. */
export function tagOfKeyword(keyword: string): Tag | undefined {
  return BY_KEYWORD.get(keyword);
}
