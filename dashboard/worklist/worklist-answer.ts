import negotiate from '@fastify/accept-negotiator';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { WorklistPatient } from './worklist.js';
import type { Ranking, RankingView } from './worklist-ranking.js';

const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);
/** As the HTTP server's compression (@fastify/compress) encodes: brotli at quality 4, fast on megabytes of JSON. */
const BROTLI_OPTIONS = { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } };

const CLOSE_ENTRIES = Buffer.from(']}');

export type AnswerEncoding = 'br' | 'gzip';

/** The encoding the caller accepts that a worklist answer is kept in, or none (identity). */
export function answerEncoding(acceptEncoding: string | undefined): AnswerEncoding | undefined {
  if (!acceptEncoding) return undefined;
  const chosen = negotiate(acceptEncoding.toLowerCase(), ['br', 'gzip', 'identity']);
  return chosen === 'br' || chosen === 'gzip' ? chosen : undefined;
}

/** The answer of GET /api/worklist (domain/api/worklist.ts) for one view of a ranking, as UTF-8 JSON. */
export function worklistAnswer<P extends WorklistPatient>(ranking: Ranking<P>, view: RankingView, newerReadings: boolean): Buffer {
  const head = JSON.stringify({ generatedAt: ranking.generatedAt, lastSeq: ranking.lastSeq, newerReadings, teams: view.teams });
  return Buffer.concat([Buffer.from(`${head.slice(0, -1)},"entries":[`), view.rows, CLOSE_ENTRIES]);
}

/**
 * The answer compressed, made once per view, `newerReadings` and encoding for every caller of the ranking: a
 * 5,000-patient list is 4.4 MB, which the HTTP server's compression encoded again for each of them (in the
 * thread pool, but each answer's chunks passed through the event loop), and the concatenation alone of a
 * whole answer took milliseconds.
 */
export function encodedWorklistAnswer<P extends WorklistPatient>(ranking: Ranking<P>, view: RankingView, newerReadings: boolean, encoding: AnswerEncoding): Promise<Buffer> {
  const key = `${encoding}:${newerReadings}`;
  let answer = view.encoded.get(key);
  if (!answer) {
    const json = worklistAnswer(ranking, view, newerReadings);
    answer = encoding === 'br' ? brotli(json, BROTLI_OPTIONS) : gzipped(json);
    // A failed encoding is not kept: the next caller tries again.
    answer.catch(() => view.encoded.delete(key));
    view.encoded.set(key, answer);
  }
  return answer;
}
