import type { DeploymentInfo } from '../lib/core/catalog.js';
import { checkGptImage2Size } from '../lib/core/models.js';
import { ApiError, apiError, events, getJson, objectUrl, post } from './api.js';
import { byId, h, say } from './dom.js';
import { curlCode, logicAppsCode, requestBody, typescriptCode, type Body, type FormState } from './form.js';
import type { KeptRecord } from '../lib/images/store.js';
import { filterTable, renderRecord } from './record.js';

// The playground: the form offers what the chosen deployment's model takes, asks the app for an
// estimate (which also checks the body by the app's own rules), then generates: streamed, with
// partial images as they come, or as an asynchronous job polled with its progress shown.

const form = byId<HTMLFormElement>('generate-form');
const model = byId<HTMLSelectElement>('model');
const sizeField = byId('size-field');
const estimate = byId('estimate');
const status = byId('run-status');
const progress = byId<HTMLProgressElement>('run-progress');
const errorBox = byId('run-error');
const partials = byId('partials');
const results = byId('results');
const generateButton = byId<HTMLButtonElement>('generate');
const input = <T extends HTMLElement = HTMLInputElement>(id: string) => byId<T>(id);

let catalog: DeploymentInfo[] = [];
let countdown: ReturnType<typeof setInterval> | undefined;
let estimateTimer: ReturnType<typeof setTimeout> | undefined;
let estimateSeq = 0;
const shownUrls: string[] = [];

const current = () => catalog.find((d) => d.deployment === model.value) ?? catalog[0];

function options(select: HTMLSelectElement, values: string[], selected?: string, empty?: string): void {
  select.replaceChildren(
    ...(empty !== undefined ? [h('option', { value: '' }, empty)] : []),
    ...values.map((v) => h('option', { value: v }, v)),
  );
  if (selected !== undefined && [...select.options].some((o) => o.value === selected)) select.value = selected;
}

function showParam(name: string, shown: boolean): void {
  for (const field of form.querySelectorAll<HTMLElement>(`[data-param="${name}"]`)) field.hidden = !shown;
}

/** Size: a list where the model has one; gpt-image-2's free size, checked as it is typed. */
function renderSize(info: DeploymentInfo, value?: string): void {
  if (info.size_rule) {
    const message = h('p', { id: 'size-message', class: 'message' }, `Any size within the rule: ${info.size_rule}.`);
    const field = h('input', {
      id: 'size',
      type: 'text',
      list: 'size-suggestions',
      value: value ?? 'auto',
      'aria-describedby': 'size-message',
      autocomplete: 'off',
      spellcheck: 'false',
    });
    const check = () => {
      const problem = checkGptImage2Size(field.value.trim());
      field.setAttribute('aria-invalid', String(problem !== undefined));
      say(
        message,
        problem ? `Invalid size: ${problem}.` : `Any size within the rule: ${info.size_rule}.`,
        problem !== undefined,
      );
    };
    field.addEventListener('input', check);
    sizeField.replaceChildren(
      h('label', { for: 'size' }, 'Size'),
      field,
      h('datalist', { id: 'size-suggestions' }, ...info.sizes.map((s) => h('option', { value: s }))),
      message,
    );
    check();
  } else {
    const select = h('select', { id: 'size' });
    options(select, info.sizes, value);
    sizeField.replaceChildren(h('label', { for: 'size' }, 'Size'), select);
  }
}

function renderModel(state?: Partial<FormState>): void {
  const info = current();
  renderSize(info, state?.size);
  options(input<HTMLSelectElement>('quality'), info.qualities, state?.quality, 'Let the service pick');
  const n = input('n');
  n.max = String(info.n_max);
  if (state?.n !== undefined) n.value = String(state.n);
  options(input<HTMLSelectElement>('output_format'), info.output_formats, state?.output_format);
  options(input<HTMLSelectElement>('background'), info.backgrounds, state?.background, 'Let the service pick');
  input('partial_images').setAttribute('max', String(info.partial_images_max));
  if (state?.partial_images !== undefined) input('partial_images').value = String(state.partial_images);
  if (state?.stream !== undefined) input('stream').checked = state.stream;
  if (state?.output_compression !== undefined) input('output_compression').value = String(state.output_compression);
  showParam('output_format', info.output_formats.length > 0);
  showParam('background', info.backgrounds.length > 0);
  showParam('stream', info.partial_images_max > 0);
  refresh();
}

function readState(): FormState {
  const number = (id: string) => (input(id).value.trim() === '' ? undefined : Number(input(id).value));
  return {
    deployment: model.value,
    prompt: input<HTMLTextAreaElement>('prompt').value,
    size: (byId<HTMLInputElement | HTMLSelectElement>('size').value ?? '').trim(),
    quality: input<HTMLSelectElement>('quality').value,
    n: number('n') ?? 1,
    output_format: input<HTMLSelectElement>('output_format').value || undefined,
    output_compression: number('output_compression'),
    background: input<HTMLSelectElement>('background').value || undefined,
    stream: input('stream').checked,
    partial_images: number('partial_images') ?? 0,
  };
}

const body = (): Body => requestBody(readState(), current());

/** What depends on the form: which fields apply, the code, and (after a pause) the estimate. */
function refresh(): void {
  const state = readState();
  const deployment = current();
  showParam('output_compression', state.output_format === 'jpeg');
  showParam('partial_images', state.stream && deployment.partial_images_max > 0);
  const b = requestBody(state, deployment);
  byId('code-curl').textContent = curlCode(location.origin, b);
  byId('code-ts').textContent = typescriptCode(location.origin, b);
  byId('code-logic').textContent = logicAppsCode(location.origin, b);
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(() => void estimateNow(), 300);
}

interface Estimate {
  served: { model: string; deployment: string; params: Record<string, unknown> };
  estimate: { usd?: number; unpriced?: boolean; size?: string; quality?: string; images?: number };
}

async function estimateNow(): Promise<void> {
  const b = body();
  if (!String(b.prompt).trim()) {
    say(estimate, 'Write a prompt to see what it would cost.');
    return;
  }
  const seq = ++estimateSeq;
  try {
    const answer = (await (await post('/api/images/estimate', b)).json()) as Estimate;
    if (seq !== estimateSeq) return;
    const e = answer.estimate;
    const cost = e.unpriced
      ? `no price in the table; $${e.usd?.toFixed(4)} held for ${e.images} image(s) (the operator's default)`
      : `at most $${e.usd?.toFixed(4)} for ${e.images} image(s), ${e.size} ${e.quality}`;
    say(estimate, `Estimate: ${cost}; served by ${answer.served.model} (${answer.served.deployment}).`);
  } catch (err) {
    if (seq !== estimateSeq) return;
    say(
      estimate,
      err instanceof ApiError ? `${err.param ? `${err.param}: ` : ''}${err.message}` : 'The estimate failed.',
      true,
    );
  }
}

function resetRun(): void {
  clearInterval(countdown);
  for (const url of shownUrls.splice(0)) URL.revokeObjectURL(url);
  errorBox.replaceChildren();
  partials.replaceChildren();
  results.replaceChildren();
}

function working(text: string, on = true): void {
  say(status, text);
  progress.hidden = !on;
  generateButton.disabled = on;
}

/** A refusal, as people read it: a countdown for a 429, the categories for a content filter refusal. */
function showError(err: unknown): void {
  working('', false);
  if (!(err instanceof ApiError)) {
    errorBox.replaceChildren(h('p', {}, `The request failed: ${(err as Error).message}`));
    return;
  }
  const line = h('p', {}, `${err.status} ${err.code}: ${err.message}`);
  errorBox.replaceChildren(line);
  if (err.code === 'content_policy_violation') {
    const table = filterTable(
      err.innerError?.content_filter_results,
      'Content filter: the categories that refused the prompt',
    );
    if (table) errorBox.append(table);
  }
  if (err.status === 429 && err.retryAfterSeconds !== undefined) {
    const clock = h('p', { id: 'retry-countdown' });
    errorBox.append(clock);
    const until = Date.now() + err.retryAfterSeconds * 1000;
    const tick = () => {
      const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      clock.textContent = left > 0 ? `Try again in ${left} s.` : 'You can try again now.';
      if (left === 0) clearInterval(countdown);
    };
    tick();
    countdown = setInterval(tick, 1000);
  }
}

async function showKept(blob: string, b64?: string, format = 'png'): Promise<void> {
  const src = b64 ? `data:image/${format};base64,${b64}` : await objectUrl(`/api/gallery/files/${blob}`);
  if (!b64) shownUrls.push(src);
  const { kept_record: record } = await getJson<{ kept_record: KeptRecord }>(`/api/gallery/records/${blob}`);
  results.append(
    h(
      'article',
      { class: 'result', 'aria-label': `Kept image ${blob}` },
      h('img', { src, alt: `The kept image: ${record.prompt.slice(0, 120)}`, 'data-blob': blob }),
      renderRecord(record),
    ),
  );
}

async function generateStreamed(b: Body): Promise<void> {
  working('Generating: waiting for the first partial image…');
  const response = await post('/api/images/generations', b, { accept: 'text/event-stream' });
  const format = String(b.output_format ?? 'png');
  let finals = 0;
  for await (const { event, data } of events(response)) {
    if (event === 'image_generation.partial_image') {
      const index = Number(data.partial_image_index ?? partials.childElementCount);
      partials.append(
        h('img', {
          src: `data:image/${format};base64,${String(data.b64_json)}`,
          alt: `Partial image ${index + 1}`,
          class: 'partial',
        }),
      );
      say(status, `Partial image ${index + 1} of ${String(b.partial_images)} received.`);
    } else if (event === 'image_generation.completed') {
      finals++;
      const storage = data.storage as { blob: string };
      say(status, `Image ${finals} of ${String(b.n)} kept; reading its record…`);
      await showKept(storage.blob, String(data.b64_json), format);
    } else if (event === 'error') {
      const e = (data as { error?: { code?: string; message?: string } }).error ?? {};
      throw new ApiError(500, e.code ?? 'error', e.message ?? 'The stream failed.');
    }
  }
  working(`Done: ${finals} image(s) kept.`, false);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function generateAsync(b: Body): Promise<void> {
  working('Generating: the job is queued…');
  const accepted = await post('/api/images/generations', b, { prefer: 'respond-async' });
  const { id } = (await accepted.json()) as { id: string };
  const location = accepted.headers.get('location');
  if (!location) throw new Error('The 202 answer had no Location to poll.');
  const started = Date.now();
  say(status, `Job ${id}: accepted, waiting for its first poll.`);
  let wait = Number(accepted.headers.get('retry-after')) || 2;
  for (let polls = 1; ; polls++) {
    // The app asks for its Retry-After; a person waiting in front of a page is asked less.
    await sleep(Math.min(wait, 2) * 1000);
    const answer = await fetch(location, { credentials: 'same-origin' });
    if (answer.status === 202) {
      const job = (await answer.json()) as { status: string };
      say(status, `Job ${id}: ${job.status}, ${Math.round((Date.now() - started) / 1000)} s, poll ${polls}.`);
      wait = Number(answer.headers.get('retry-after')) || 2;
      continue;
    }
    if (!answer.ok) throw await apiError(answer);
    const done = (await answer.json()) as { data: { storage?: { blob: string }; b64_json?: string }[] };
    say(status, `Job ${id} done after ${Math.round((Date.now() - started) / 1000)} s; reading the records…`);
    for (const image of done.data)
      if (image.storage) await showKept(image.storage.blob, image.b64_json, String(b.output_format ?? 'png'));
    working(`Done: ${done.data.length} image(s) kept.`, false);
    return;
  }
}

async function generate(): Promise<void> {
  const b = body();
  const prompt = input<HTMLTextAreaElement>('prompt');
  if (!String(b.prompt).trim()) {
    say(byId('prompt-message'), 'Write a prompt first.', true);
    prompt.setAttribute('aria-invalid', 'true');
    prompt.focus();
    return;
  }
  prompt.removeAttribute('aria-invalid');
  say(byId('prompt-message'), '');
  resetRun();
  try {
    await (b.stream ? generateStreamed(b) : generateAsync(b));
  } catch (err) {
    showError(err);
  }
}

export function startPlayground(deployments: DeploymentInfo[]): void {
  catalog = deployments;
  options(
    model,
    catalog.map((d) => d.deployment),
  );
  for (const option of model.options)
    option.textContent = `${option.value} (${catalog.find((d) => d.deployment === option.value)?.model})`;
  model.addEventListener('change', () => renderModel());
  form.addEventListener('input', (event) => {
    if (event.target !== model) refresh();
  });
  form.addEventListener('change', (event) => {
    if (event.target !== model) refresh();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void generate();
  });
  renderModel();
}

/** Fills the form with a kept image's settings ("reuse these settings"). */
export function fillPlayground(state: FormState): void {
  model.value = state.deployment;
  input<HTMLTextAreaElement>('prompt').value = state.prompt;
  renderModel(state);
}

export const formState = readState;
