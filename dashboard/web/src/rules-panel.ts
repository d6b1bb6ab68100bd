import { api } from './api.js';
import { actionDialog, field, failureText, onSubmit, reasonField, valueOf } from './dialogs.js';
import { announce, h } from './dom.js';
import { actorText, clock, dateTime, ruleUnit } from './format.js';
import type { PatientRecord, PatientRule, RuleOverride, RulePreset, Snooze } from './types.js';

/** What an action on a rule needs: the patient, and a way to show the result. */
interface Ctx {
  readonly record: PatientRecord;
  readonly changed: () => void;
}

type Tiers = NonNullable<PatientRule['tiers']>;

/** "critical if <= 83 %, warning if < 88 %", "critical if systolic > 180 mmHg or ...": a threshold rule's tiers, most severe first. */
function tiersText(ruleId: string, tiers: Tiers): string {
  const unit = ruleUnit(ruleId);
  const condition = (c: Tiers[number]['conditions'][number]) => `${c.field === 'value' ? '' : `${c.field} `}${c.op} ${c.value}${unit ? ` ${unit}` : ''}`;
  return tiers.map((t) => `${t.severity} if ${t.conditions.map(condition).join(' or ')}`).join(', ');
}

/** "BTS 2017": the guideline and year a preset's source starts with, for a button label. */
function shortSource(source: string): string {
  return /^[^:;,(]*?\b(19|20)\d{2}\b/.exec(source)?.[0].replace(/\s+oxygen guideline/i, '') ?? source.split(':')[0]!;
}

/** An override as a clinician reads it: the values it changes (a preset is named beside them). */
function overrideText(o: RuleOverride): string {
  return Object.entries(o.override)
    .map(([key, value]) => {
      if (key === 'tiers' && Array.isArray(value)) return tiersText(o.ruleId, value as Tiers);
      if (key === 'dryWeightKg') return `dry weight ${String(value)} kg`;
      if (key === 'enabled') return value ? 'switched on' : 'switched off';
      return `${key}: ${JSON.stringify(value)}`;
    })
    .join('; ');
}

/** A list of facts as term and description, so a screen reader says what each value is. */
function facts(pairs: [string, string][]): HTMLElement {
  return h('dl', { class: 'facts' }, pairs.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
}

const pathOf = (ctx: Ctx, ...parts: string[]) => `/api/patients/${[ctx.record.patient.id, ...parts].map(encodeURIComponent).join('/')}`;

function overrideBlock(ctx: Ctx, rule: PatientRule, o: RuleOverride): HTMLElement {
  const preset = ctx.record.presets.find((p) => p.id === o.preset);
  const remove = () =>
    void actionDialog({
      title: `Remove the override of “${rule.title}”?`,
      intro: ['The rule goes back to its default and programme values for this patient from the next reading.'],
      submitLabel: 'Remove override',
      submit: () => api('DELETE', pathOf(ctx, 'rules', rule.id)),
    }).then((done) => {
      if (!done) return;
      announce(`Override of ${rule.title} removed`);
      ctx.changed();
    });
  return h(
    'div',
    { class: 'rule-change rule-override', 'data-override': o.ruleId },
    h('p', { class: 'rule-change-title' }, 'Override for this patient: ', h('strong', {}, overrideText(o))),
    facts([
      ['Set by', actorText(o.actor)],
      ['On', dateTime(o.updatedAt)],
      ['Reason', o.reason ?? '–'],
      ['Expires', o.expiresAt === null ? 'no expiry' : dateTime(o.expiresAt)],
      ...(o.preset ? ([['Preset', preset ? `${preset.title} (${shortSource(preset.source)})` : o.preset]] as [string, string][]) : []),
    ]),
    h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'remove-override', onclick: remove }, 'Remove override'),
  );
}

function snoozeBlock(ctx: Ctx, rule: PatientRule, s: Snooze): HTMLElement {
  const end = async () => {
    try {
      await api('DELETE', pathOf(ctx, 'snoozes', rule.id));
      announce(`Snooze of ${rule.title} ended`);
      ctx.changed();
    } catch (err) {
      announce(failureText(err), 'error');
    }
  };
  return h(
    'div',
    { class: 'rule-change rule-snooze', 'data-snooze': s.ruleId },
    h('p', { class: 'rule-change-title' }, h('strong', {}, `Snoozed until ${dateTime(s.until)}`)),
    facts([
      ['Snoozed by', actorText(s.actor)],
      ['On', dateTime(s.createdAt)],
      ['Reason', s.note ?? '–'],
      ['Until', dateTime(s.until)],
      ['Silences', `${s.tier} and below; anything worse, and any critical finding, still alerts`],
    ]),
    h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'end-snooze', onclick: () => void end() }, 'End snooze'),
  );
}

function presetButton(ctx: Ctx, rule: PatientRule, preset: RulePreset, current: RuleOverride | undefined): HTMLElement {
  const tiers = preset.override.tiers as Tiers | undefined;
  const apply = () =>
    void actionDialog({
      title: `Use ${preset.title}`,
      intro: [
        tiers ? `Alerts for this patient: ${tiersText(preset.ruleId, tiers)}. ` : '',
        current ? "This replaces the patient's current override of the rule. " : '',
        `Source: ${preset.source}.`,
      ],
      fields: [reasonField(false, 'Left empty, the guideline is recorded as the reason. Kept in the audit log.', 'e.g. Chronic hypercapnia, target agreed with the respiratory team')],
      submitLabel: 'Apply',
      submit: (form) => {
        const reason = valueOf(form, 'reason');
        return api('PUT', pathOf(ctx, 'presets', preset.id), reason ? { reason } : {});
      },
    }).then((done) => {
      if (!done) return;
      announce(`${preset.title} applied`);
      ctx.changed();
    });
  return h('button', { type: 'button', class: 'btn btn-small', 'data-preset': preset.id, onclick: apply }, `Use ${preset.title} (${shortSource(preset.source)})`);
}

/**
 * Heart failure: the care team's dry weight, against which the weight-gain rule also judges the morning weight.
 * Set as an override of the rule (kept with the rule's other per-patient values), with a required reason.
 */
function dryWeightForm(ctx: Ctx, rule: PatientRule, current: RuleOverride | undefined): HTMLElement {
  const kg = h('input', { type: 'number', name: 'dryWeightKg', min: 1, max: 400, step: 0.1, required: true, inputmode: 'decimal', value: rule.dryWeightKg ?? '' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'btn btn-small btn-primary', 'data-action': 'dry-weight' }, 'Set dry weight');
  const form = h(
    'form',
    { class: 'inline-form', 'aria-label': `Dry weight for ${rule.title}` },
    field('Dry weight (kg)', kg),
    reasonField(true, 'Shown with the override and kept in the audit log.', 'e.g. Euvolaemic at clinic review'),
    button,
    error,
  );
  onSubmit(
    form,
    button,
    error,
    () => api('PUT', pathOf(ctx, 'rules', rule.id), { override: { ...current?.override, dryWeightKg: Number(kg.value) }, reason: valueOf(form, 'reason') }),
    () => {
      announce(`Dry weight set to ${kg.value} kg`);
      ctx.changed();
    },
  );
  return form;
}

function statusText(rule: PatientRule, override: RuleOverride | undefined, snooze: Snooze | undefined, record: PatientRecord): string {
  const parts = [rule.enabled ? 'On' : 'Off'];
  if (override) parts.push('override for this patient');
  if (snooze) parts.push(`snoozed until ${clock(snooze.until)}`);
  const live = record.alerts.find((a) => a.ruleId === rule.id && a.status !== 'resolved');
  if (live) parts.push(`${live.severity} alert ${live.status}`);
  return parts.join(' · ');
}

/**
 * The rules as they apply to this patient, each with its status, this patient's override (who, when, why, until
 * when, which preset) and snooze (who, when, why, until, up to which tier), and the one-step changes a clinician
 * makes here: a sourced preset, a heart-failure dry weight. The server refuses what would loosen a guideline
 * critical limit; its message is shown where the change was asked for.
 */
export function rulesPanel(record: PatientRecord, changed: () => void): HTMLElement {
  const ctx: Ctx = { record, changed };
  const now = Date.now();
  const heartFailure = record.patient.programmes.includes('heart_failure');
  const items = record.rules.map((rule) => {
    const override = record.overrides.find((o) => o.ruleId === rule.id);
    const snooze = record.snoozes.find((s) => s.ruleId === rule.id && s.until > now);
    const presets = record.presets.filter((p) => p.ruleId === rule.id && override?.preset !== p.id);
    return h(
      'li',
      { class: `rule${override || snooze ? ' rule-changed' : ''}`, 'data-rule-id': rule.id, tabindex: -1, 'aria-label': rule.title },
      h('div', { class: 'rule-head' }, h('strong', {}, rule.title), h('code', { class: 'muted' }, rule.id), h('span', { class: `rule-status${rule.enabled ? '' : ' rule-off'}` }, statusText(rule, override, snooze, record))),
      override ? overrideBlock(ctx, rule, override) : null,
      snooze ? snoozeBlock(ctx, rule, snooze) : null,
      presets.length ? h('div', { class: 'rule-actions' }, presets.map((p) => presetButton(ctx, rule, p, override))) : null,
      heartFailure && rule.kind === 'weight_gain' ? dryWeightForm(ctx, rule, override) : null,
      h('p', { class: 'muted small rule-source' }, rule.source),
    );
  });
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'rules-title', 'data-panel': 'rules' },
    h('header', { class: 'panel-header' }, h('h2', { id: 'rules-title', tabindex: '-1' }, 'Rules for this patient')),
    items.length ? h('ul', { class: 'rule-list' }, items) : h('p', { class: 'muted pad' }, 'No rules apply.'),
  );
}
