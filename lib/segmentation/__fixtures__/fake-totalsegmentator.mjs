#!/usr/bin/env node
// A stand-in for the TotalSegmentator CLI, for tests: same arguments, same output layout
// (<output>/<structure>.nii.gz per class, or one multi-label file with --ml whose NIfTI extension
// holds the label table, as TotalSegmentator's add_label_map_to_nifti writes it), no model. Its
// "model" is a lookup of the input's voxel values, so tests know the right answer:
//   100 → liver, 200 → spleen, 300 → kidney_left; gallbladder is always empty.
// FAKE_TOTALSEG_MODE: ok (default) | fail (exit 1) | no-output (exit 0, writes nothing) |
//   hang (never ends) | wrong-shape (masks one voxel too wide). FAKE_TOTALSEG_LOG: file that
//   receives { pid, argv } as one JSON line per run.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const LABELS = { spleen: 1, kidney_left: 3, gallbladder: 4, liver: 5 };
const BY_VALUE = { 100: 'liver', 200: 'spleen', 300: 'kidney_left' };

const argv = process.argv.slice(2);
const args = { rois: null, ml: false, fast: false, task: 'total' };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '-i') args.input = argv[++i];
  else if (a === '-o') args.output = argv[++i];
  else if (a === '--ml' || a === '-ml') args.ml = true;
  else if (a === '--fast' || a === '-f') args.fast = true;
  else if (a === '-ta' || a === '--task') args.task = argv[++i];
  else if (a === '-d' || a === '--device') args.device = argv[++i];
  else if (a === '--roi_subset' || a === '-rs') {
    args.rois = [];
    while (i + 1 < argv.length && !argv[i + 1].startsWith('-')) args.rois.push(argv[++i]);
  } else {
    process.stderr.write(`TotalSegmentator: error: unrecognized arguments: ${a}\n`);
    process.exit(2);
  }
}
if (process.env.FAKE_TOTALSEG_LOG) appendFileSync(process.env.FAKE_TOTALSEG_LOG, `${JSON.stringify({ pid: process.pid, argv })}\n`);
const mode = process.env.FAKE_TOTALSEG_MODE ?? 'ok';
if (!args.input || !args.output) {
  process.stderr.write('TotalSegmentator: error: the following arguments are required: -i, -o\n');
  process.exit(2);
}
if (mode === 'fail') {
  process.stdout.write('Predicting...\n');
  process.stderr.write('RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n');
  process.exit(1);
}
if (mode === 'hang') setInterval(() => {}, 1000);
else main();

function main() {
  if (mode === 'no-output') process.exit(0);
  let bytes = readFileSync(args.input);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const dims = [bytes.readInt16LE(42), bytes.readInt16LE(44), bytes.readInt16LE(46)];
  const datatype = bytes.readInt16LE(70);
  const voxOffset = bytes.readFloatLE(108);
  const slope = bytes.readFloatLE(112) || 1;
  const inter = bytes.readFloatLE(116);
  const count = dims[0] * dims[1] * dims[2];
  const read = { 2: (i) => bytes[voxOffset + i], 4: (i) => bytes.readInt16LE(voxOffset + 2 * i), 16: (i) => bytes.readFloatLE(voxOffset + 4 * i) }[datatype];
  if (!read) {
    process.stderr.write(`unsupported datatype ${datatype}\n`);
    process.exit(1);
  }
  const wanted = Object.keys(LABELS).filter((name) => !args.rois || args.rois.includes(name));
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const name = BY_VALUE[Math.round(read(i) * slope + inter)];
    if (name && wanted.includes(name)) labels[i] = LABELS[name];
  }
  const outDims = mode === 'wrong-shape' ? [dims[0] + 1, dims[1], dims[2]] : dims;
  const outCount = outDims[0] * outDims[1] * outDims[2];
  // The input's header (geometry included) with the datatype changed to uint8, as TotalSegmentator does.
  const header = (extension) => {
    const h = Buffer.alloc(352 + (extension ? extension.length : 0));
    bytes.copy(h, 0, 0, 348);
    outDims.forEach((d, n) => h.writeInt16LE(d, 42 + 2 * n));
    h.writeInt16LE(2, 70);
    h.writeInt16LE(8, 72);
    h.writeFloatLE(h.length, 108);
    h.writeFloatLE(1, 112);
    h.writeFloatLE(0, 116);
    h[348] = extension ? 1 : 0;
    if (extension) extension.copy(h, 352);
    return h;
  };
  const volume = (pick) => {
    const out = Buffer.alloc(outCount);
    for (let i = 0; i < count; i++) out[i] = pick(labels[i]);
    return out;
  };
  if (args.ml) {
    const rows = wanted.map((name) => `<Label Key="${LABELS[name]}" Red="1" Green="0" Blue="0" Alpha="1"><![CDATA[${name}]]></Label>`).join('\n');
    const xml = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?> <CaretExtension>  <VolumeInformation Index="0">   <LabelTable>\n${rows}\n  </LabelTable>  </VolumeInformation></CaretExtension>\n`);
    const size = Math.ceil((xml.length + 8) / 16) * 16;
    const extension = Buffer.alloc(size);
    extension.writeInt32LE(size, 0);
    extension.writeInt32LE(0, 4);
    xml.copy(extension, 8);
    mkdirSync(path.dirname(args.output), { recursive: true });
    writeFileSync(args.output, gzipSync(Buffer.concat([header(extension), volume((l) => l)])));
  } else {
    mkdirSync(args.output, { recursive: true });
    for (const name of wanted) {
      writeFileSync(path.join(args.output, `${name}.nii.gz`), gzipSync(Buffer.concat([header(null), volume((l) => (l === LABELS[name] ? 1 : 0))])));
    }
  }
  process.stdout.write(`Saving segmentations...\n`);
}
