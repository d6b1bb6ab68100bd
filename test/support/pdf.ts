import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** What poppler-utils (Debian) sees in a PDF: its page count, its text, and how much of page 1 is ink. */
export interface PdfLook {
  readonly pages: number;
  readonly text: string;
  /** Share of page 1's pixels darker than light grey, rendered at 40 dpi in grey (pdftoppm). */
  readonly inkShare: number;
}

/** Parses a binary PGM (P5) image: its pixels, one byte each. */
function pgmPixels(data: Buffer): Uint8Array {
  // Header: "P5", width, height, maxval, each separated by whitespace, then one whitespace byte.
  let pos = 0;
  const fields: string[] = [];
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(data[pos]!))) pos += 1;
    let field = '';
    while (!/\s/.test(String.fromCharCode(data[pos]!))) field += String.fromCharCode(data[pos++]!);
    fields.push(field);
  }
  if (fields[0] !== 'P5') throw new Error(`not a binary PGM: ${fields[0]}`);
  return data.subarray(pos + 1);
}

export async function lookAtPdf(pdf: Buffer): Promise<PdfLook> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-pdf-'));
  try {
    const file = join(dir, 'report.pdf');
    await writeFile(file, pdf);
    const info = (await exec('pdfinfo', [file])).stdout;
    const pages = Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]);
    const text = (await exec('pdftotext', ['-layout', file, '-'])).stdout;
    await exec('pdftoppm', ['-gray', '-r', '40', '-f', '1', '-l', '1', file, join(dir, 'page')]);
    const image = (await readdir(dir)).find((f) => f.startsWith('page'))!;
    const pixels = pgmPixels(await readFile(join(dir, image)));
    let ink = 0;
    for (const p of pixels) if (p < 200) ink += 1;
    return { pages, text, inkShare: ink / pixels.length };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
