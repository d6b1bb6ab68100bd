import PDFDocument from 'pdfkit';

/** A figure and its value ("Time in range 70-180 mg/dL", "72 % (> 70 %: met)"). */
export interface PdfFigures {
  readonly kind: 'figures';
  readonly heading: string;
  readonly rows: readonly (readonly [string, string])[];
}

/** A table; rows that do not fit the page are counted, not dropped silently. */
export interface PdfTable {
  readonly kind: 'table';
  readonly heading: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Relative column widths (equal without). */
  readonly widths?: readonly number[];
  /** Where the rest is when the page is full ("the CSV download"). */
  readonly overflow: string;
}

/** Lines over an x axis of labels (the AGP by hour, the weight by day); null is a gap. */
export interface PdfChart {
  readonly kind: 'chart';
  readonly heading: string;
  readonly unit: string;
  readonly xLabels: readonly string[];
  readonly series: readonly { readonly label: string; readonly color: string; readonly width?: number; readonly values: readonly (number | null)[] }[];
}

export type PdfBlock = PdfFigures | PdfTable | PdfChart;

/** A one-page report a clinician can file: who, what period, the figures, where they come from. */
export interface PdfReport {
  readonly title: string;
  /** Patient name and id, period, time zone. */
  readonly subtitle: readonly string[];
  readonly blocks: readonly PdfBlock[];
  readonly source: string;
  readonly generatedAt: number;
}

const MARGIN = 40;
const FOOTER = 54;
const INK = '#111827';
const MUTED = '#4b5563';

/**
 * Renders a report on one A4 page with PDFKit's built-in Helvetica (no font files, no browser): blocks in order,
 * each table cut where the page ends with a line saying how many rows are left and where they are, and the
 * sources and the time of printing at the foot. Standard fonts cover Latin-1 only: texts keep to it.
 */
export function renderPdf(report: PdfReport): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', margin: MARGIN, autoFirstPage: true, info: { Title: report.title, Creator: 'Vigil', Producer: 'Vigil (PDFKit)' } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const width = doc.page.width - 2 * MARGIN;
  const bottom = doc.page.height - MARGIN - FOOTER;

  doc.fillColor(INK).font('Helvetica-Bold').fontSize(16).text(report.title, MARGIN, MARGIN, { width });
  doc.font('Helvetica').fontSize(9.5).fillColor(MUTED);
  for (const line of report.subtitle) doc.text(line, { width });
  doc.moveDown(0.6);

  for (const block of report.blocks) {
    if (doc.y > bottom - 30) break;
    doc.font('Helvetica-Bold').fontSize(11).fillColor(INK).text(block.heading, MARGIN, doc.y, { width });
    doc.moveDown(0.2);
    if (block.kind === 'figures') figures(doc, block, width, bottom);
    else if (block.kind === 'table') table(doc, block, width, bottom);
    else chart(doc, block, width, bottom);
    doc.moveDown(0.6);
  }

  // The foot sits in the bottom margin: with the margin in force PDFKit would start a second page for it.
  doc.page.margins.bottom = 0;
  const footY = doc.page.height - MARGIN - FOOTER + 8;
  doc.font('Helvetica').fontSize(7).fillColor(MUTED);
  doc.text(`Sources: ${report.source}`, MARGIN, footY, { width, height: FOOTER - 16, ellipsis: true });
  doc.text(`Printed ${new Date(report.generatedAt).toISOString().replace('T', ' ').slice(0, 16)} UTC by Vigil. Figures as computed from the readings stored at that time.`, MARGIN, doc.page.height - MARGIN - 8, { width, lineBreak: false });
  doc.end();
  return done;
}

type Doc = InstanceType<typeof PDFDocument>;

function figures(doc: Doc, block: PdfFigures, width: number, bottom: number): void {
  doc.fontSize(9);
  const labelWidth = width * 0.45;
  for (const [label, value] of block.rows) {
    const y = doc.y;
    if (y > bottom - 12) break;
    doc.font('Helvetica').fillColor(MUTED).text(label, MARGIN, y, { width: labelWidth - 8 });
    const after = doc.y;
    doc.font('Helvetica').fillColor(INK).text(value, MARGIN + labelWidth, y, { width: width - labelWidth });
    doc.y = Math.max(after, doc.y) + 1;
  }
}

function table(doc: Doc, block: PdfTable, width: number, bottom: number): void {
  const weights = block.widths ?? block.columns.map(() => 1);
  const total = weights.reduce((a, b) => a + b, 0);
  const widths = weights.map((w) => (w / total) * width);
  const lefts = widths.map((_, i) => MARGIN + widths.slice(0, i).reduce((a, b) => a + b, 0));
  const rowHeight = 11;
  const line = (cells: readonly string[], bold: boolean) => {
    const y = doc.y;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(8).fillColor(bold ? MUTED : INK);
    cells.forEach((c, i) => doc.text(c, lefts[i]!, y, { width: widths[i]! - 4, height: rowHeight, lineBreak: false, ellipsis: true }));
    doc.y = y + rowHeight;
  };
  line(block.columns, true);
  let shown = 0;
  for (const row of block.rows) {
    if (doc.y > bottom - 2 * rowHeight) break;
    line(row, false);
    shown += 1;
  }
  if (shown < block.rows.length) {
    doc.font('Helvetica-Oblique').fontSize(8).fillColor(MUTED).text(`${block.rows.length - shown} more rows: ${block.overflow}.`, MARGIN, doc.y, { width });
  }
}

function chart(doc: Doc, block: PdfChart, width: number, bottom: number): void {
  const height = Math.min(150, bottom - doc.y - 30);
  if (height < 60) return;
  const left = MARGIN + 34;
  const top = doc.y + 4;
  const w = width - 34;
  const values = block.series.flatMap((s) => s.values).filter((v): v is number => v !== null);
  if (values.length === 0) return;
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (max - min < 1) (min -= 1), (max += 1);
  const pad = (max - min) * 0.08;
  min -= pad;
  max += pad;
  const n = block.xLabels.length;
  const x = (i: number) => left + (n <= 1 ? w / 2 : (i * w) / (n - 1));
  const y = (v: number) => top + height - ((v - min) / (max - min)) * height;

  doc.lineWidth(0.5).strokeColor('#9ca3af').rect(left, top, w, height).stroke();
  doc.font('Helvetica').fontSize(7).fillColor(MUTED);
  for (const v of [min + pad, (min + max) / 2, max - pad]) doc.text(v.toFixed(v >= 100 ? 0 : 1), MARGIN, y(v) - 3, { width: 30, align: 'right', lineBreak: false });
  doc.text(block.unit, MARGIN, top - 9, { width: 60, lineBreak: false });
  const every = Math.max(1, Math.ceil(n / 8));
  for (let i = 0; i < n; i += every) doc.text(block.xLabels[i]!, x(i) - 20, top + height + 3, { width: 40, align: 'center', lineBreak: false });

  for (const s of block.series) {
    doc.lineWidth(s.width ?? 1).strokeColor(s.color);
    let drawing = false;
    s.values.forEach((v, i) => {
      if (v === null) {
        drawing = false;
        return;
      }
      if (drawing) doc.lineTo(x(i), y(v));
      else doc.moveTo(x(i), y(v));
      drawing = true;
    });
    doc.stroke();
    // A lone point (no neighbour to draw a line to) is a dot.
    s.values.forEach((v, i) => {
      if (v !== null && (s.values[i - 1] ?? null) === null && (s.values[i + 1] ?? null) === null) doc.circle(x(i), y(v), 1.8).fill(s.color);
    });
  }
  const legendY = top + height + 14;
  let lx = left;
  doc.fontSize(7);
  for (const s of block.series) {
    doc.rect(lx, legendY + 2, 8, 3).fill(s.color);
    doc.fillColor(MUTED).text(s.label, lx + 11, legendY, { lineBreak: false });
    lx += 16 + doc.widthOfString(s.label);
  }
  doc.y = legendY + 12;
}
