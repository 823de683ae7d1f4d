/**
 * WADO-RS (PS3.18 10.4): studies, series and instances as multipart/related application/dicom
 * (with transfer syntax negotiation), metadata in the DICOM JSON model, frames (uncompressed, or
 * as stored), rendered images and thumbnails, and bulk data.
 */
import { readFile } from 'node:fs/promises';
import { getDb } from '@/db';
import { findRetrieveInstances, type RetrieveRow } from '@/db/queries/dicomweb';
import { ApiError, notFound } from '@/lib/api/errors';
import { auditPatientAccess, type Actor } from '@/lib/audit';
import { parseDicom, tagHex, toExplicitLittleEndian, type DicomDataset } from '@/lib/dicom';
import { decodeFrame, transcodeToExplicitLittleEndian } from '@/lib/imaging/decode';
import { encapsulatedFrameBytes } from '@/lib/imaging/decode/frames';
import { readPixelModule } from '@/lib/imaging/decode/pixel-module';
import { decodeDicomFrame, renderDecoded } from '@/lib/imaging/dicom-image';
import { encodeImage, type ImageFormat } from '@/lib/imaging/encode';
import { frameCache } from '@/lib/imaging/frame-cache';
import { niftiToDicom } from '@/lib/imaging/nifti-dicom';
import type { Window } from '@/lib/imaging/render';
import type { DecodedFrame } from '@/lib/imaging/types';
import { objectPath } from '@/lib/storage';
import { attribute, datasetToJson, type DicomJsonDataset } from './dicom-json';
import { multipartResponse, notAcceptable, parseAccept, partRequest, type MediaRange, type Part } from './media';
import { retrieveUrl } from './paths';

export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
const NATIVE = new Set([IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE]);

export interface RetrieveTarget {
  studyInstanceUid: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
}

function levelOf(target: RetrieveTarget): 'study' | 'series' | 'instance' {
  return target.sopInstanceUid ? 'instance' : target.seriesInstanceUid ? 'series' : 'study';
}

/** The instances a path names, found and audited before anything is read; 404 when none. */
export async function resolveInstances(actor: Actor, target: RetrieveTarget, action: string): Promise<RetrieveRow[]> {
  const level = levelOf(target);
  const rows = await auditPatientAccess(
    actor,
    {
      action: `dicomweb.${action}`,
      resourceType: level,
      resourceId: target.sopInstanceUid ?? target.seriesInstanceUid ?? target.studyInstanceUid,
      describe: (r) => ({ studyId: r[0]?.studyId ?? null, patientId: r[0]?.patientId ?? null }),
    },
    async () => {
      const found = await findRetrieveInstances(await getDb(), target);
      return found.length ? found : null;
    },
  );
  if (!rows) throw notFound(`No such ${level}`);
  return rows;
}

/** The instance as a DICOM Part 10 file: the stored file, or NIfTI converted to multi-frame DICOM. */
async function storedDicom(row: RetrieveRow): Promise<Uint8Array> {
  const bytes = new Uint8Array(await readFile(objectPath(row.storageKey)));
  if (row.format === 'dicom') return bytes;
  const converted = niftiToDicom(bytes, {
    patientName: row.patientName,
    patientId: row.patientKey,
    studyInstanceUid: row.studyInstanceUid,
    seriesInstanceUid: row.seriesInstanceUid,
    sopInstanceUid: row.sopInstanceUid,
    modality: row.modality,
    seriesDescription: row.seriesDescription,
  });
  return new Uint8Array(converted.buffer, converted.byteOffset, converted.byteLength);
}

function syntaxOf(dataset: DicomDataset): string {
  return dataset.transferSyntaxUid ?? dataset.transferSyntax.uid;
}

/**
 * The transfer syntaxes a client accepts for application/dicom parts: '*' for any, and Explicit
 * VR Little Endian when it names none (the default, PS3.18 8.7.3.5.2). Throws 406 when nothing
 * in Accept is application/dicom at all.
 */
export function acceptedDicomSyntaxes(ranges: MediaRange[]): Set<string> {
  const syntaxes = new Set<string>();
  for (const range of ranges) {
    const part = partRequest(range);
    if (!part) continue;
    if (part.partType !== 'application/dicom' && part.partType !== '*/*' && part.partType !== 'application/*') continue;
    syntaxes.add(part.transferSyntax ?? (part.partType === 'application/dicom' ? EXPLICIT_LE : '*'));
  }
  if (syntaxes.size === 0) throw notAcceptable('This resource is available as multipart/related; type="application/dicom"');
  return syntaxes;
}

/** The file in a transfer syntax the client accepts, or null when it cannot be had in one. */
export async function inTransferSyntax(bytes: Uint8Array, accepted: Set<string>): Promise<{ bytes: Uint8Array; transferSyntaxUid: string } | null> {
  const dataset = parseDicom(bytes, { stopAtPixelData: false });
  const original = syntaxOf(dataset);
  const part10 = dataset.preamble && dataset.hasFileMeta;
  if (part10 && (accepted.has('*') || accepted.has(original))) return { bytes, transferSyntaxUid: original };
  if (!accepted.has(EXPLICIT_LE) && !accepted.has('*')) return null;
  if (original === EXPLICIT_LE && part10) return { bytes, transferSyntaxUid: EXPLICIT_LE };
  if (NATIVE.has(original) && !dataset.deflated) return { bytes: toExplicitLittleEndian(dataset), transferSyntaxUid: EXPLICIT_LE };
  return { bytes: await transcodeToExplicitLittleEndian(bytes, dataset), transferSyntaxUid: EXPLICIT_LE };
}

/** Study, series or instance retrieval: one application/dicom part per instance. */
export async function retrieveInstances(actor: Actor, target: RetrieveTarget, acceptHeader: string | null, base: string): Promise<Response> {
  const accepted = acceptedDicomSyntaxes(parseAccept(acceptHeader));
  const rows = await resolveInstances(actor, target, `retrieve_${levelOf(target)}`);
  // Checked before the first byte goes out: a failure half-way would leave a truncated body.
  const first = await inTransferSyntax(await storedDicom(rows[0]!), accepted);
  if (!first) throw notAcceptable(`Not available in transfer syntax ${[...accepted].join(', ')}; Explicit VR Little Endian (${EXPLICIT_LE}) or * are`);
  async function* parts(): AsyncGenerator<Part> {
    for (const [i, row] of rows.entries()) {
      const encoded = i === 0 ? first : await inTransferSyntax(await storedDicom(row), accepted);
      if (!encoded) continue;
      yield {
        contentType: `application/dicom; transfer-syntax=${encoded!.transferSyntaxUid}`,
        body: encoded!.bytes,
        location: retrieveUrl(base, row.studyInstanceUid, row.seriesInstanceUid, row.sopInstanceUid),
      };
    }
  }
  return multipartResponse('application/dicom', parts());
}

function instanceBase(base: string, row: RetrieveRow): string {
  return retrieveUrl(base, row.studyInstanceUid, row.seriesInstanceUid, row.sopInstanceUid);
}

/** One instance's metadata: every attribute, pixel data and large binaries as BulkDataURI. */
export function instanceMetadata(bytes: Uint8Array, instanceUrl: string): DicomJsonDataset {
  const dataset = parseDicom(bytes, { stopAtPixelData: true });
  const json = datasetToJson(dataset, { bulkDataUri: (element) => `${instanceUrl}/bulkdata/${tagHex(element.tag)}` });
  json['00083002'] = attribute('UI', syntaxOf(dataset));
  return Object.fromEntries(Object.entries(json).sort(([a], [b]) => a.localeCompare(b)));
}

export async function retrieveMetadata(actor: Actor, target: RetrieveTarget, acceptHeader: string | null, base: string): Promise<DicomJsonDataset[]> {
  const ranges = parseAccept(acceptHeader);
  if (!ranges.some((r) => ['*/*', 'application/*', 'application/dicom+json', 'application/json'].includes(r.type))) {
    throw notAcceptable('Metadata is available as application/dicom+json');
  }
  const rows = await resolveInstances(actor, target, `metadata_${levelOf(target)}`);
  const out: DicomJsonDataset[] = [];
  for (const row of rows) out.push(instanceMetadata(await storedDicom(row), instanceBase(base, row)));
  return out;
}

/** Frame numbers of a /frames/{list} path: 1-based, comma-separated. */
export function parseFrameList(text: string): number[] {
  const frames = text.split(',').map((f) => f.trim());
  if (frames.length === 0 || frames.length > 10_000 || frames.some((f) => !/^[1-9]\d{0,6}$/.test(f))) {
    throw new ApiError(400, 'bad_request', 'Frame numbers are positive integers separated by commas, e.g. 1,2,3');
  }
  return frames.map(Number);
}

/** A decoded frame's samples as little-endian bytes; 1-bit samples packed again (LSB first). */
function nativeBytes(frame: DecodedFrame): Uint8Array {
  const { data } = frame;
  if (frame.bitsAllocated === 1) {
    const out = new Uint8Array(Math.ceil(data.length / 8));
    for (let i = 0; i < data.length; i++) if (data[i]) out[i >>> 3]! |= 1 << (i & 7);
    return out;
  }
  const bytes = new Uint8Array(data.byteLength);
  const view = new DataView(bytes.buffer);
  const width = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (data instanceof Float32Array) view.setFloat32(i * 4, v, true);
    else if (data instanceof Float64Array) view.setFloat64(i * 8, v, true);
    else if (width === 1) bytes[i] = v;
    else if (width === 2) view.setUint16(i * 2, v & 0xffff, true);
    else view.setUint32(i * 4, v >>> 0, true);
  }
  return bytes;
}

/** Frame `index` (0-based) uncompressed: the stored bytes when they are native little endian, decoded otherwise. */
async function uncompressedFrame(dataset: DicomDataset, index: number): Promise<Uint8Array> {
  const attrs = readPixelModule(dataset);
  const pixelData = dataset.pixelData!;
  if (!pixelData.encapsulated && dataset.littleEndian && attrs.bitsAllocated >= 8 && pixelData.length !== undefined) {
    const size = attrs.rows * attrs.columns * attrs.samplesPerPixel * (attrs.bitsAllocated / 8);
    const start = pixelData.offset + index * size;
    if (start + size <= pixelData.offset + pixelData.length) return dataset.datasetBytes.subarray(start, start + size);
  }
  return nativeBytes(await decodeFrame(dataset, index));
}

const COMPRESSED_MEDIA: Array<[RegExp, string[]]> = [
  [/^1\.2\.840\.10008\.1\.2\.4\.(5\d|6\d|70)$/, ['image/jpeg']],
  [/^1\.2\.840\.10008\.1\.2\.4\.8[01]$/, ['image/jls', 'image/x-jls']],
  [/^1\.2\.840\.10008\.1\.2\.4\.9[01]$/, ['image/jp2']],
  [/^1\.2\.840\.10008\.1\.2\.4\.9[23]$/, ['image/jpx']],
  [/^1\.2\.840\.10008\.1\.2\.5$/, ['image/dicom-rle', 'image/x-dicom-rle']],
];

/** How frames go out: uncompressed octet-stream, or (if asked for) as stored in their compressed media type. */
function frameEncoding(ranges: MediaRange[], storedSyntax: string, encapsulated: boolean): { kind: 'uncompressed' } | { kind: 'stored'; mediaType: string } {
  const compressedTypes = encapsulated ? (COMPRESSED_MEDIA.find(([re]) => re.test(storedSyntax))?.[1] ?? []) : [];
  for (const range of ranges) {
    const part = partRequest(range);
    if (!part) continue;
    const ts = part.transferSyntax;
    if (['application/octet-stream', '*/*', 'application/*'].includes(part.partType) && (ts === null || ts === EXPLICIT_LE || ts === '*')) {
      return { kind: 'uncompressed' };
    }
    const wantsImage = part.partType === 'image/*' || compressedTypes.includes(part.partType);
    if (compressedTypes.length && wantsImage && (ts === null || ts === '*' || ts === storedSyntax)) {
      return { kind: 'stored', mediaType: compressedTypes[0]! };
    }
  }
  throw notAcceptable('Frames are available as multipart/related; type="application/octet-stream" (uncompressed), or in their stored compressed media type');
}

async function instanceDataset(actor: Actor, target: Required<RetrieveTarget>, action: string) {
  const [row] = await resolveInstances(actor, target, action);
  const bytes = await storedDicom(row!);
  const dataset = parseDicom(bytes, { stopAtPixelData: false });
  return { row: row!, bytes, dataset };
}

export async function retrieveFrames(actor: Actor, target: Required<RetrieveTarget>, frameList: string, acceptHeader: string | null): Promise<Response> {
  const frames = parseFrameList(frameList);
  const ranges = parseAccept(acceptHeader);
  const { dataset } = await instanceDataset(actor, target, 'retrieve_frames');
  if (!dataset.pixelData) throw new ApiError(404, 'not_found', 'This instance has no pixel data');
  const count = readPixelModule(dataset).numberOfFrames;
  const missing = frames.find((f) => f > count);
  if (missing) throw new ApiError(404, 'not_found', `Frame ${missing} does not exist; this instance has ${count} frame(s)`);
  const stored = syntaxOf(dataset);
  const encoding = frameEncoding(ranges, stored, dataset.pixelData.encapsulated);
  const partType = encoding.kind === 'uncompressed' ? 'application/octet-stream' : encoding.mediaType;
  const contentType = encoding.kind === 'uncompressed' ? `application/octet-stream; transfer-syntax=${EXPLICIT_LE}` : `${encoding.mediaType}; transfer-syntax=${stored}`;
  // The first frame is made before answering, so that undecodable pixel data is an error, not a cut-off body.
  const firstBody = encoding.kind === 'uncompressed' ? await uncompressedFrame(dataset, frames[0]! - 1) : encapsulatedFrameBytes(dataset, count, frames[0]! - 1);
  async function* parts(): AsyncGenerator<Part> {
    for (const [i, frame] of frames.entries()) {
      const body = i === 0 ? firstBody : encoding.kind === 'uncompressed' ? await uncompressedFrame(dataset, frame - 1) : encapsulatedFrameBytes(dataset, count, frame - 1);
      yield { contentType, body };
    }
  }
  return multipartResponse(partType, parts());
}

/** Bulk data of a top-level element: pixel data as its frames (uncompressed), anything else as its value. */
export async function retrieveBulkData(actor: Actor, target: Required<RetrieveTarget>, tagText: string, acceptHeader: string | null): Promise<Response> {
  const tag = /^[0-9A-Fa-f]{8}$/.test(tagText) ? parseInt(tagText, 16) >>> 0 : undefined;
  if (tag === undefined) throw notFound('No such bulk data');
  const { dataset } = await instanceDataset(actor, target, 'retrieve_bulkdata');
  const element = dataset.elements.get(tag);
  if (!element) throw notFound('No such bulk data');
  if (tag === 0x7fe00010 || tag === 0x7fe00008 || tag === 0x7fe00009) {
    const count = readPixelModule(dataset).numberOfFrames;
    return retrieveFrames(actor, target, Array.from({ length: count }, (_, i) => i + 1).join(','), acceptHeader);
  }
  const ranges = parseAccept(acceptHeader);
  if (!ranges.some((r) => partRequest(r)?.partType === 'application/octet-stream' || r.type === '*/*' || partRequest(r)?.partType === '*/*')) {
    throw notAcceptable('Bulk data is available as multipart/related; type="application/octet-stream"');
  }
  const json = datasetToJson({ ...dataset, elements: new Map([[tag, element]]) } as DicomDataset, { inlineLimit: Number.MAX_SAFE_INTEGER });
  const inline = json[tagHex(tag)]?.InlineBinary;
  if (inline === undefined) throw notFound('This element has no binary value');
  async function* parts(): AsyncGenerator<Part> {
    yield { contentType: 'application/octet-stream', body: new Uint8Array(Buffer.from(inline!, 'base64')) };
  }
  return multipartResponse('application/octet-stream', parts());
}

export interface RenderRequest {
  format: ImageFormat;
  window: Window | null;
  /** Longer side in pixels. */
  size?: number;
}

const RENDERED_TYPES: Record<string, ImageFormat> = { 'image/jpeg': 'jpeg', 'image/png': 'png', 'image/webp': 'webp' };

/**
 * Rendered media type from the `accept` query parameter or the Accept header (JPEG when anything
 * goes), window from `window=center,width[,function]`, size from `viewport=w,h`.
 */
export function parseRenderRequest(url: URL, acceptHeader: string | null, defaults: { size?: number } = {}): RenderRequest {
  const ranges = parseAccept(url.searchParams.get('accept') ?? acceptHeader);
  let format: ImageFormat | undefined;
  for (const range of ranges) {
    if (RENDERED_TYPES[range.type]) {
      format = RENDERED_TYPES[range.type];
      break;
    }
    if (range.type === '*/*' || range.type === 'image/*') {
      format = 'jpeg';
      break;
    }
  }
  if (!format) throw notAcceptable('Rendered images are available as image/jpeg, image/png or image/webp');
  let window: Window | null = null;
  const windowText = url.searchParams.get('window');
  if (windowText) {
    const [center, width, fn] = windowText.split(',');
    const c = Number(center);
    const w = Number(width);
    if (!Number.isFinite(c) || !Number.isFinite(w) || w <= 0) throw new ApiError(400, 'bad_request', 'window is center,width[,function] with a positive width');
    if (fn && fn.toLowerCase() !== 'linear') throw new ApiError(400, 'bad_request', 'Only the linear VOI LUT function is supported');
    window = { center: c, width: w };
  }
  let size = defaults.size;
  const viewport = url.searchParams.get('viewport');
  if (viewport) {
    const [vw, vh] = viewport.split(',').map((v) => Number(v));
    const longest = Math.max(vw ?? 0, vh ?? 0);
    if (!Number.isInteger(longest) || longest < 16 || longest > 4096) throw new ApiError(400, 'bad_request', 'viewport is width,height (16–4096 pixels)');
    size = longest;
  }
  return { format, window, size };
}

export async function retrieveRendered(actor: Actor, target: Required<RetrieveTarget>, frameNumber: number, request: RenderRequest, action = 'retrieve_rendered'): Promise<Response> {
  const [row] = await resolveInstances(actor, target, action);
  if (frameNumber < 1 || frameNumber > 100_000) throw new ApiError(400, 'bad_request', 'Frame numbers start at 1');
  const key = `${row!.storageKey}:dicomweb:${frameNumber - 1}`;
  let decoded = frameCache().get(key);
  if (!decoded) {
    const bytes = await storedDicom(row!);
    const dataset = parseDicom(bytes, { stopAtPixelData: true });
    if (!dataset.pixelData) throw new ApiError(404, 'not_found', 'This instance has no pixel data to render');
    const count = readPixelModule(dataset).numberOfFrames;
    if (frameNumber > count) throw new ApiError(404, 'not_found', `Frame ${frameNumber} does not exist; this instance has ${count} frame(s)`);
    decoded = await decodeDicomFrame(bytes, frameNumber - 1);
    frameCache().set(key, decoded);
  }
  const { image } = renderDecoded(decoded, { window: request.window });
  const encoded = await encodeImage(image, { format: request.format, size: request.size });
  return new Response(new Uint8Array(encoded.body), { headers: { 'Content-Type': encoded.contentType, 'Cache-Control': 'private, max-age=3600', Vary: 'Cookie, Authorization, Accept' } });
}
