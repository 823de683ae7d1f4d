import sharp from 'sharp';
import { encodePng } from './png';
import type { RenderedImage } from './render';

export const IMAGE_FORMATS = ['png', 'jpeg', 'webp'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

const CONTENT_TYPES: Record<ImageFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

/**
 * Encodes a rendered image, scaled to fit `size` pixels on its longer side when given. Full-size
 * PNGs (the common request) are written by encodePng; resizing, JPEG and WebP go through sharp.
 */
export async function encodeImage(image: RenderedImage, options: { format: ImageFormat; size?: number | null }): Promise<{ body: Buffer; contentType: string; width: number; height: number }> {
  const resize = !!options.size && Math.max(image.width, image.height) !== options.size;
  if (options.format === 'png' && !resize) return { body: encodePng(image), contentType: CONTENT_TYPES.png, width: image.width, height: image.height };
  let pipeline = sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: image.channels },
  });
  let width = image.width;
  let height = image.height;
  if (resize) {
    const scale = options.size! / Math.max(width, height);
    width = Math.max(1, Math.round(width * scale));
    height = Math.max(1, Math.round(height * scale));
    pipeline = pipeline.resize(width, height, { fit: 'fill', kernel: scale > 1 ? 'nearest' : 'lanczos3' });
  }
  // Without this sharp widens greyscale to sRGB: three times the bytes for the same picture.
  if (image.channels === 1) pipeline = pipeline.toColourspace('b-w');
  if (options.format === 'png') pipeline = pipeline.png({ compressionLevel: 3 });
  else if (options.format === 'jpeg') pipeline = pipeline.jpeg({ quality: 92 });
  else pipeline = pipeline.webp({ quality: 92 });
  return { body: await pipeline.toBuffer(), contentType: CONTENT_TYPES[options.format], width, height };
}
