/**
 * Loading and calling the Emscripten (WASM) codecs: OpenJPEG (JPEG 2000), CharLS (JPEG-LS) and
 * libjpeg-turbo (8-bit JPEG processes our own decoder does not implement).
 *
 * Each module is instantiated once per process and shared; decoding is synchronous, so calls never
 * interleave. The factories find their .wasm file next to their .js file (`__dirname`), which is
 * why the packages must stay external to the Next.js server bundle (serverExternalPackages).
 */
import { CodecError, PixelDecodeError } from './errors';

export interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

/** The embind decoder classes the three packages export (same shape, see their READMEs). */
export interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): FrameInfo;
  delete(): void;
  getInterleaveMode?(): number;
  getNearLossless?(): number;
  getColorSpace?(): number;
}

type DecoderClass = new () => WasmDecoder;

export type CodecName = 'openjpeg' | 'charls' | 'libjpeg-turbo';

interface LoadedCodec {
  Decoder: DecoderClass;
  /** What the codec printed during the current call (OpenJPEG reports its errors this way). */
  messages: string[];
}

type Factory = (moduleArg?: object) => Promise<unknown>;

const CLASS_NAMES: Record<CodecName, string> = { openjpeg: 'J2KDecoder', charls: 'JpegLSDecoder', 'libjpeg-turbo': 'JPEGDecoder' };

// Literal specifiers so that bundlers and output tracing see each package.
const IMPORTERS: Record<CodecName, () => Promise<{ default: Factory }>> = {
  openjpeg: () => import('@cornerstonejs/codec-openjpeg/decodewasmjs'),
  charls: () => import('@cornerstonejs/codec-charls/decodewasmjs'),
  'libjpeg-turbo': () => import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs'),
};

const cache = new Map<CodecName, Promise<LoadedCodec>>();

const MAX_MESSAGES = 20;

async function instantiate(name: CodecName): Promise<LoadedCodec> {
  const imported = await IMPORTERS[name]();
  const factory = (imported.default ?? imported) as unknown as Factory;
  const messages: string[] = [];
  const keep = (line: string) => {
    if (messages.length < MAX_MESSAGES) messages.push(String(line));
  };
  const runtime = (await factory({ print: keep, printErr: keep })) as Record<string, unknown>;
  const Decoder = runtime[CLASS_NAMES[name]];
  if (typeof Decoder !== 'function') throw new Error(`${name} module has no ${CLASS_NAMES[name]}`);
  return { Decoder: Decoder as DecoderClass, messages };
}

function load(name: CodecName): Promise<LoadedCodec> {
  let promise = cache.get(name);
  if (!promise) {
    promise = instantiate(name);
    cache.set(name, promise);
    // A failed load must not stick: the next call tries again.
    promise.catch(() => cache.delete(name));
  }
  return promise;
}

/** Loads a codec ahead of the first frame (e.g. at server start); decodeFrame does it lazily. */
export async function preloadCodec(name: CodecName): Promise<void> {
  await load(name);
}

/**
 * Runs one decode with a fresh decoder instance. The Emscripten runtime may set
 * `process.exitCode` when the C code calls exit(); that would fail the whole server or test run
 * later, so it is put back. An abort (WebAssembly.RuntimeError) leaves the instance unusable, so
 * the module is dropped and re-created on the next call.
 */
export async function withDecoder<T>(name: CodecName, encoded: Uint8Array, read: (decoder: WasmDecoder, messages: string[]) => T): Promise<T> {
  let codec: LoadedCodec;
  try {
    codec = await load(name);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    // Bundled into a server chunk, the factory looks for its .wasm beside the chunk and fails.
    throw new PixelDecodeError('decoder_unavailable', `the ${name} decoder could not be loaded (is its package in serverExternalPackages?): ${reason}`, { cause: error });
  }
  const savedExitCode = process.exitCode;
  codec.messages.length = 0;
  let decoder: WasmDecoder | undefined;
  try {
    decoder = new codec.Decoder();
    decoder.getEncodedBuffer(encoded.length).set(encoded);
    decoder.decode();
    return read(decoder, codec.messages);
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError) cache.delete(name);
    if (error instanceof CodecError || error instanceof PixelDecodeError) throw error;
    const detail = codec.messages.find((line) => /error/i.test(line)) ?? (error instanceof Error ? error.message : 'the codec rejected the data');
    throw new CodecError(`${name}: ${detail}`);
  } finally {
    try {
      decoder?.delete();
    } catch {
      // The instance is gone with an aborted module; nothing left to free.
    }
    process.exitCode = savedExitCode;
  }
}
