/**
 * Reports: the figures a diabetologist or a hypertension clinic reads over weeks (docs/reports.md), computed
 * from the reading store. Each number comes from a tested function worked by hand from its published definition.
 */
export { glucoseReport, type ReportPatient, type ReportReadings } from './glucose-report.js';
export { homeBpReport, homeBpRuleFor, HOME_BP_SOURCE } from './home-bp-report.js';
export { glucoseReportCsv, homeBpReportCsv, weightReportCsv } from './csv.js';
export { weightReport, weightRuleFor, WEIGHT_SOURCE } from './weight-report.js';
export { GMI_SOURCE, TIME_IN_RANGE_SOURCE } from './glucose-definitions.js';

/** The longest period a report covers (a quarter: the span of an HbA1c). */
export const MAX_REPORT_DAYS = 90;
export { programmeRow, type ProgrammeAlert, type ProgrammePatient } from './programme-report.js';
export { programmeReport, programmeReportCsv, PROGRAMME_SORTS, type ProgrammeSort } from './programme-table.js';
export { CMS_2026_SOURCE, PROGRAMME_PERIOD_DAYS } from './programme-definitions.js';
export { riskScore, type LatestVital, type TrendAlert } from './risk-score.js';
export { NEWS2_SOURCE, RISK_MAX_AGE_HOURS, SCALE_2_PRESET } from './risk-definitions.js';
export { renderPdf, type PdfReport } from './pdf/render.js';
export { glucosePdf, homeBpPdf, programmePdf, programmeTablePdf, riskPdf, weightPdf, type PdfPatient } from './pdf/report-pdfs.js';
