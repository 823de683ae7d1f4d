// A worker for worker-pool.test.ts that misbehaves on request, the way a decoder can on a hostile file.
import { parentPort, threadId } from 'node:worker_threads';

parentPort.on('message', ({ id, task }) => {
  switch (task.do) {
    case 'echo':
      parentPort.postMessage({ id, ok: true, result: { value: task.value, threadId } });
      break;
    case 'fail':
      parentPort.postMessage({ id, ok: false, error: { name: 'PixelDecodeError', message: 'damaged', code: 'corrupt_pixel_data' } });
      break;
    case 'exit':
      process.exit(3);
      break;
    case 'throw':
      setImmediate(() => {
        throw new Error('decoder blew up');
      });
      break;
    case 'oom': {
      const hoard = [];
      for (;;) hoard.push(new Array(1e5).fill({ at: hoard.length }));
    }
    case 'hang':
      for (;;);
  }
});
