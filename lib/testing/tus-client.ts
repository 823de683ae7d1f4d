import * as tus from 'tus-js-client';

export interface TusResult {
  ok: boolean;
  status: number;
  body: unknown;
  url: string | null;
}

/** Uploads a buffer with the real tus client, resolving (never rejecting) with what the server said. */
export function tusUpload(
  endpoint: string,
  data: Buffer,
  options: { token?: string; metadata?: Record<string, string>; chunkSize?: number; headers?: Record<string, string> } = {},
): Promise<TusResult> {
  return new Promise((resolve) => {
    const upload = new tus.Upload(data, {
      endpoint,
      chunkSize: options.chunkSize ?? Infinity,
      retryDelays: null,
      metadata: options.metadata ?? {},
      headers: { ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}), ...options.headers },
      uploadSize: data.length,
      onSuccess(payload) {
        const text = payload.lastResponse.getBody();
        resolve({ ok: true, status: payload.lastResponse.getStatus(), body: text ? JSON.parse(text) : null, url: upload.url });
      },
      onError(error) {
        const response = (error as tus.DetailedError).originalResponse;
        let body: unknown = null;
        try {
          body = response ? JSON.parse(response.getBody()) : null;
        } catch {
          body = response?.getBody() ?? String(error);
        }
        resolve({ ok: false, status: response?.getStatus() ?? 0, body, url: upload.url });
      },
    });
    upload.start();
  });
}
