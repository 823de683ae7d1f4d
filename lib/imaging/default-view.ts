import { readFileSync } from 'node:fs';
import { derivedObjectPath, writeDerivedObject } from '@/lib/storage';
import type { ImageQuery } from './image-query';
import type { RenderResult } from './image-tasks';
import type { Window } from './render';

// Renderings change only when the stored file or this code's output does; bump on rendering
// changes (it is part of every image ETag, and names the stored default views, so stale ones are
// never served).
export const RENDER_VERSION = '1';

const NAME = `default-view-v${RENDER_VERSION}`;

/**
 * The view most requests ask for: frame 0 at the file's own window (or min-max), full size, PNG.
 * Processing renders it once per instance and stores it beside the file, as a PACS keeps
 * pre-rendered images; requests for exactly this view are then served from storage.
 */
export function isDefaultView(query: ImageQuery): boolean {
  return query.frame === 0 && query.format === 'png' && !query.invert && query.size === undefined && query.window === undefined && query.preset === undefined;
}

/** Stored as one line of JSON (what the response headers need) and then the image bytes. */
export async function storeDefaultView(storageKey: string, view: Pick<RenderResult, 'body' | 'contentType' | 'window'>): Promise<void> {
  const header = Buffer.from(`${JSON.stringify({ contentType: view.contentType, window: view.window })}\n`);
  await writeDerivedObject(storageKey, NAME, Buffer.concat([header, view.body]));
}

/** The stored default view, or null when there is none (not processed yet, or processed by an older version). */
export async function readDefaultView(storageKey: string): Promise<RenderResult | null> {
  let bytes: Buffer;
  try {
    // A few kilobytes: read in one go on this thread, rather than in four thread-pool round
    // trips (open, stat, read, close) that cost more than the read itself.
    bytes = readFileSync(derivedObjectPath(storageKey, NAME));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const newline = bytes.indexOf(0x0a);
  if (newline < 0) return null;
  const header = JSON.parse(bytes.subarray(0, newline).toString()) as { contentType: string; window: Window | null };
  return { body: bytes.subarray(newline + 1), contentType: header.contentType, window: header.window };
}
