/**
 * A small PDF 1.4 writer for text documents (reports): A4 pages, Helvetica, headings, wrapped
 * paragraphs, page breaks. Enough for a printable report without a dependency; the output is
 * checked with poppler's pdftotext in tests.
 */

export interface PdfBlock {
  kind: 'title' | 'heading' | 'paragraph' | 'small';
  text: string;
}

const PAGE_WIDTH = 595.28;
const PAGE_HEIGHT = 841.89;
const MARGIN = 56;

const STYLE: Record<PdfBlock['kind'], { font: 'F1' | 'F2'; size: number; before: number }> = {
  title: { font: 'F2', size: 16, before: 0 },
  heading: { font: 'F2', size: 12, before: 14 },
  paragraph: { font: 'F1', size: 10.5, before: 4 },
  small: { font: 'F1', size: 8.5, before: 8 },
};

/** Helvetica's average advance is about half the font size; wrapping by it errs on the safe side. */
function wrap(text: string, size: number): string[] {
  const maxChars = Math.max(10, Math.floor((PAGE_WIDTH - 2 * MARGIN) / (size * 0.52)));
  const lines: string[] = [];
  for (const paragraph of text.split(/\r?\n/)) {
    const words = paragraph.split(/\s+/).filter(Boolean);
    if (words.length === 0) {
      lines.push('');
      continue;
    }
    let line = '';
    for (let word of words) {
      while (word.length > maxChars) {
        if (line) lines.push(line);
        lines.push(word.slice(0, maxChars));
        word = word.slice(maxChars);
        line = '';
      }
      if (!line) line = word;
      else if (line.length + 1 + word.length <= maxChars) line += ` ${word}`;
      else {
        lines.push(line);
        line = word;
      }
    }
    if (line) lines.push(line);
  }
  return lines;
}

/** A PDF string literal in WinAnsi (Latin-1 here); characters outside it become '?'. */
function pdfString(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFC')) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '(' || ch === ')') out += `\\${ch}`;
    else if (code === 0x2014 || code === 0x2013) out += '-';
    else if (code === 0x2018 || code === 0x2019) out += "'";
    else if (code === 0x201c || code === 0x201d) out += '"';
    else if (code === 0x2026) out += '...';
    else if (code < 0x20) out += ' ';
    else if (code < 0x7f) out += ch;
    else if (code >= 0xa0 && code <= 0xff) out += `\\${code.toString(8).padStart(3, '0')}`;
    else out += '?';
  }
  return `(${out})`;
}

export function renderPdf(blocks: PdfBlock[], info: { title: string }): Buffer {
  const pages: string[][] = [[]];
  let y = PAGE_HEIGHT - MARGIN;
  for (const block of blocks) {
    const style = STYLE[block.kind];
    const leading = style.size * 1.35;
    y -= style.before;
    for (const line of wrap(block.text, style.size)) {
      if (y - leading < MARGIN) {
        pages.push([]);
        y = PAGE_HEIGHT - MARGIN;
      }
      y -= leading;
      pages[pages.length - 1]!.push(`BT /${style.font} ${style.size} Tf ${MARGIN} ${y.toFixed(2)} Td ${pdfString(line)} Tj ET`);
    }
  }

  // Objects: 1 catalog, 2 pages, 3 Helvetica, 4 Helvetica-Bold, 5 info, then page + content pairs.
  const objects: string[] = [];
  const pageIds = pages.map((_, i) => 6 + i * 2);
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  objects[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>';
  objects[4] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>';
  objects[5] = `<< /Title ${pdfString(info.title)} /Producer (imaging-platform) >>`;
  pages.forEach((ops, i) => {
    const pageId = pageIds[i]!;
    const stream = ops.join('\n');
    objects[pageId] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${PAGE_WIDTH} ${PAGE_HEIGHT}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents ${pageId + 1} 0 R >>`;
    objects[pageId + 1] = `<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`;
  });

  const chunks: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = chunks[0]!.length;
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = offset;
    const chunk = Buffer.from(`${id} 0 obj\n${objects[id]}\nendobj\n`, 'latin1');
    chunks.push(chunk);
    offset += chunk.length;
  }
  const xref = [`xref\n0 ${objects.length}\n`, '0000000000 65535 f \n', ...offsets.slice(1).map((o) => `${String(o).padStart(10, '0')} 00000 n \n`)].join('');
  chunks.push(Buffer.from(`${xref}trailer\n<< /Size ${objects.length} /Root 1 0 R /Info 5 0 R >>\nstartxref\n${offset}\n%%EOF\n`, 'latin1'));
  return Buffer.concat(chunks);
}
