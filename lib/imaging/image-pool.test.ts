import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DicomParseError } from '@/lib/dicom';
import { dicomCorpus } from '@/lib/testing/corpus';
import { PixelDecodeError } from './decode';
import { createImagePool } from './image-pool';
import { runImageTask, type ImageTask, type RenderResult } from './image-tasks';

// The real image worker, as the server starts it (from source here, through tsx).
const imagePool = createImagePool(2);
const pool = { run: async (task: ImageTask) => (await imagePool.run(task)) as RenderResult, get restarts() { return imagePool.restarts; } };
afterAll(() => imagePool.close());

const corpusFile = (id: string) => dicomCorpus().find((e) => e.id === id)!.path;
const render = (file: string, extra: Partial<Extract<ImageTask, { kind: 'render-dicom' }>> = {}): Extract<ImageTask, { kind: 'render-dicom' }> => ({
  kind: 'render-dicom',
  path: file,
  frame: 0,
  window: null,
  invert: false,
  format: 'png',
  ...extra,
});

describe('image workers', () => {
  it.each(['ct_small_explicit_le', 'ct_jpeg_lossless_p14', 'mr_small_jpegls_lossless', 'sc_rgb_jpeg_baseline_ybr'])('render %s to the same bytes as the calling thread', async (id) => {
    const task = render(corpusFile(id));
    const inWorker = await pool.run(task);
    const inProcess = (await runImageTask(task, { worker: false })) as RenderResult;
    expect(inWorker.contentType).toBe('image/png');
    expect(Buffer.from(inWorker.body).equals(Buffer.from(inProcess.body))).toBe(true);
    expect(inWorker.window).toEqual(inProcess.window);
  });

  it('reuses its memory from one image to the next without carrying pixels over', async () => {
    // One worker, so that every task runs on the memory the previous one left behind.
    const single = createImagePool(1);
    try {
      const sequence = ['ct_jpeg_lossless_p14', 'ct_small_explicit_le', 'sc_rgb_jpeg_baseline_ybr', 'ct_jpeg_lossless_p14', 'mr_small_jpegls_lossless', 'ct_small_explicit_le'];
      for (const [i, id] of sequence.entries()) {
        const task = render(corpusFile(id), { returnDecoded: i === 3, window: i % 2 ? { center: 40, width: 400 } : null });
        const inWorker = (await single.run(task)) as RenderResult;
        const inProcess = (await runImageTask(task, { worker: false })) as RenderResult;
        expect(Buffer.from(inWorker.body).equals(Buffer.from(inProcess.body)), `${id} (task ${i})`).toBe(true);
        if (task.returnDecoded) {
          expect(inWorker.decoded!.frame.data.buffer).toBeInstanceOf(SharedArrayBuffer);
          expect(Buffer.from(inWorker.decoded!.frame.data.buffer).equals(Buffer.from(inProcess.decoded!.frame.data.buffer))).toBe(true);
        }
      }
    } finally {
      await single.close();
    }
  });

  it('hands decoded frames back in shared memory, and renders them again without the file', async () => {
    const file = corpusFile('us_palette_rle_multiframe');
    const first = await pool.run(render(file, { frame: 4, returnDecoded: true }));
    expect(first.decoded!.frame.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    // The path no longer matters: the cached frame is rendered, in colour, by whichever worker.
    const again = await pool.run(render('/nonexistent', { frame: 4, cached: first.decoded }));
    expect(Buffer.from(again.body).equals(Buffer.from(first.body))).toBe(true);
  });

  it('reports bad files with the error classes and codes of the decoders', async () => {
    const damaged = path.join(process.env.DATA_DIR!, 'damaged-jpegls.dcm');
    const bytes = readFileSync(corpusFile('mr_small_jpegls_lossless'));
    const soi = bytes.indexOf(Buffer.from([0xff, 0xd8, 0xff]));
    bytes.fill(0x55, soi, soi + 64);
    writeFileSync(damaged, bytes);
    const inProcess = await runImageTask(render(damaged), { worker: false }).catch((e: unknown) => e);
    const inWorker = await pool.run(render(damaged)).catch((e: unknown) => e);
    expect(inWorker).toBeInstanceOf(PixelDecodeError);
    expect(inWorker).toMatchObject({ code: (inProcess as PixelDecodeError).code, message: (inProcess as PixelDecodeError).message });

    const text = path.join(process.env.DATA_DIR!, 'not-dicom.dcm');
    writeFileSync(text, 'hello, this is not a DICOM file at all');
    await expect(pool.run({ kind: 'check-dicom', path: text })).rejects.toBeInstanceOf(DicomParseError);
    // The pool is intact afterwards.
    expect(await pool.run({ kind: 'check-dicom', path: corpusFile('ct_small_explicit_le') })).toEqual({ hasPixelData: true });
    expect(pool.restarts).toBe(0);
  });
});
