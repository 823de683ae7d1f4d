// The cornerstone codec packages ship Emscripten factories without type declarations. Each
// module's default export is the factory; wasm.ts gives it a precise type.

declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: (moduleArg?: object) => Promise<unknown>;
  export default factory;
}

declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: (moduleArg?: object) => Promise<unknown>;
  export default factory;
}

declare module '@cornerstonejs/codec-charls/wasmjs' {
  const factory: (moduleArg?: object) => Promise<unknown>;
  export default factory;
}

declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: (moduleArg?: object) => Promise<unknown>;
  export default factory;
}

// Its package.json names a declaration file that the package does not ship; the tests use it as
// an independent reference decoder.
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    decode(buffer: ArrayBuffer, offset?: number, length?: number, numBytes?: number): Uint8Array | Uint16Array;
  }
}
