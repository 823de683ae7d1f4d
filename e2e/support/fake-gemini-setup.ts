import { startFakeGemini } from '../../lib/ai/testing/fake-gemini';

/**
 * Starts the fake Gemini server for the whole e2e run (the app's GEMINI_BASE_URL points at it);
 * specs steer it through its /__fake/* control endpoints. Returns the teardown.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const url = new URL(process.env.E2E_FAKE_GEMINI_URL ?? 'http://127.0.0.1:4100');
  const fake = await startFakeGemini({ port: Number(url.port) });
  return () => fake.close();
}
