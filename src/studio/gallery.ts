import type { DeploymentInfo } from '../lib/core/catalog.js';
import type { GalleryItem, GalleryPage } from '../lib/gallery/imageIndex.js';
import { ApiError, getJson, objectUrl, post, saveAs } from './api.js';
import { byId, h, say } from './dom.js';
import { stateFromRecord } from './form.js';
import { fillPlayground, formState } from './playground.js';
import type { KeptRecord } from '../lib/images/store.js';
import { renderRecord } from './record.js';

// The gallery: pages of thumbnails (never the originals), newest first, with filters and a prompt
// search; a detail view with the full image and its record; several images as one ZIP.

const grid = byId<HTMLUListElement>('grid');
const more = byId<HTMLButtonElement>('more');
const status = byId('gallery-status');
const errorBox = byId('gallery-error');
const selectedCount = byId('selected-count');
const zipButton = byId<HTMLButtonElement>('zip');
const dialog = byId<HTMLDialogElement>('detail');
const field = (id: string) => byId<HTMLInputElement>(id);

let catalog: DeploymentInfo[] = [];
let continuation: string | undefined;
let loaded = 0;
const selected = new Set<string>();
const urls: string[] = [];
let open: { record: KeptRecord; url: string } | undefined;

function query(): URLSearchParams {
  const params = new URLSearchParams();
  for (const [id, name] of [
    ['f-q', 'q'],
    ['f-model', 'model'],
    ['f-caller', 'caller'],
    ['f-from', 'from'],
    ['f-to', 'to'],
  ]) {
    const value = field(id).value.trim();
    if (value) params.set(name, value);
  }
  if (continuation) params.set('continuation', continuation);
  return params;
}

function failed(err: unknown): void {
  errorBox.replaceChildren(
    h(
      'p',
      {},
      err instanceof ApiError
        ? `${err.status} ${err.code}: ${err.message}`
        : `The gallery failed: ${(err as Error).message}`,
    ),
  );
}

/** The next page (or the first, after the filters changed). */
export async function loadGallery(reset: boolean): Promise<void> {
  if (reset) {
    continuation = undefined;
    loaded = 0;
    selected.clear();
    for (const url of urls.splice(0)) URL.revokeObjectURL(url);
    grid.replaceChildren();
    updateSelection();
  }
  errorBox.replaceChildren();
  say(status, 'Loading…');
  try {
    const page = await getJson<GalleryPage>(`/api/gallery/images?${query().toString()}`);
    continuation = page.continuation;
    for (const item of page.data) grid.append(card(item, loaded++));
    more.hidden = continuation === undefined;
    say(
      status,
      `${loaded} image(s) shown${page.scanned !== undefined ? ` (${page.scanned} searched on this page)` : ''}${continuation ? '; more below' : ''}.`,
    );
  } catch (err) {
    say(status, '');
    failed(err);
  }
}

function card(item: GalleryItem, index: number): HTMLLIElement {
  const label = item.prompt.length > 80 ? `${item.prompt.slice(0, 80)}…` : item.prompt;
  const picture = h('span', { class: 'placeholder' }, item.thumbnail ? 'Loading…' : 'Thumbnail on its way…');
  // Named by its content, not aria-label: what shows (the picture, or why there is none yet) stays part of the name.
  const open = h(
    'button',
    { type: 'button', class: 'thumb', onclick: () => void openDetail(item) },
    picture,
    h('span', { class: 'visually-hidden' }, `Open image ${index + 1}: ${label}`),
  );
  const id = `select-${index}`;
  const box = h('input', { type: 'checkbox', id, 'data-blob': item.blob });
  const li = h(
    'li',
    { class: 'card' },
    open,
    h('p', {}, item.prompt),
    h(
      'span',
      { class: 'meta' },
      `${item.served_model} · ${item.size ?? 'auto'} · ${item.created.slice(0, 16).replace('T', ' ')}${item.caller ? ` · ${item.caller}` : ''}`,
    ),
    h(
      'span',
      {},
      box,
      ' ',
      h('label', { for: id }, 'Select', h('span', { class: 'visually-hidden' }, ` image ${index + 1}: ${label}`)),
    ),
  );
  box.addEventListener('change', () => {
    if (box.checked) selected.add(item.blob);
    else selected.delete(item.blob);
    li.classList.toggle('selected', box.checked);
    updateSelection();
  });
  void showThumbnail(item, picture);
  return li;
}

/**
 * The thumbnail only, fetched with the credentials: the grid never loads an original. One that is
 * not made yet (the queue makes it seconds after the image is kept) is asked for again a few times.
 */
async function showThumbnail(item: GalleryItem, picture: HTMLElement): Promise<void> {
  for (const wait of item.thumbnail ? [0] : [1000, 2000, 4000, 8000]) {
    await new Promise((resolve) => setTimeout(resolve, wait));
    if (!picture.isConnected) return;
    try {
      const url = await objectUrl(`/api/gallery/thumbnails/${item.blob}`);
      urls.push(url);
      picture.replaceWith(h('img', { src: url, alt: '', 'data-blob': item.blob }));
      return;
    } catch {
      // Not there (yet).
    }
  }
  picture.textContent = 'No thumbnail yet';
}

function updateSelection(): void {
  say(selectedCount, `${selected.size} selected`);
  zipButton.disabled = selected.size === 0;
}

async function openDetail(item: GalleryItem): Promise<void> {
  errorBox.replaceChildren();
  try {
    const [detail, url] = await Promise.all([
      getJson<{ kept_record: KeptRecord }>(`/api/gallery/records/${item.blob}`),
      objectUrl(`/api/gallery/files/${item.blob}`),
    ]);
    if (open) URL.revokeObjectURL(open.url);
    open = { record: detail.kept_record, url };
    const image = byId<HTMLImageElement>('detail-image');
    image.src = url;
    image.alt = `The image: ${item.prompt.slice(0, 120)}`;
    byId('detail-record').replaceChildren(renderRecord(detail.kept_record));
    field('permalink').value = `${location.origin}/api/images/links/${item.blob}`;
    dialog.showModal();
  } catch (err) {
    failed(err);
  }
}

async function downloadZip(): Promise<void> {
  errorBox.replaceChildren();
  try {
    say(status, `Making a ZIP of ${selected.size} image(s)…`);
    const response = await post('/api/gallery/zip', { blobs: [...selected] });
    const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'images.zip';
    const url = URL.createObjectURL(await response.blob());
    saveAs(url, name);
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    say(status, `ZIP of ${selected.size} image(s) saved.`);
  } catch (err) {
    failed(err);
  }
}

export function startGallery(deployments: DeploymentInfo[], showPlayground: () => void): void {
  catalog = deployments;
  const modelFilter = byId<HTMLSelectElement>('f-model');
  for (const name of new Set([...catalog.map((d) => d.model), 'dall-e-3', 'gpt-image-1']))
    modelFilter.append(h('option', { value: name }, name));
  byId<HTMLFormElement>('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    void loadGallery(true);
  });
  more.addEventListener('click', () => void loadGallery(false));
  zipButton.addEventListener('click', () => void downloadZip());
  byId('close-detail').addEventListener('click', () => dialog.close());
  byId('download').addEventListener('click', () => open && saveAs(open.url, open.record.blob.split('/').pop()!));
  byId('copy-link').addEventListener('click', () => void navigator.clipboard?.writeText(field('permalink').value));
  byId('reuse').addEventListener('click', () => {
    if (!open) return;
    fillPlayground(stateFromRecord(open.record, catalog, formState()));
    dialog.close();
    showPlayground();
  });
}
