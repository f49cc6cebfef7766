import type { DeploymentInfo } from '../lib/core/catalog.js';
import { isCallerKey } from '../lib/core/caller.js';
import { ApiError, getJson, isAccessToken, keyStore, platformSession } from './api.js';
import { byId, say } from './dom.js';
import { loadGallery, startGallery } from './gallery.js';
import { startPlayground } from './playground.js';
import './style.css';

// The studio page: who is calling (a pasted key, or App Service's sign-in), then the playground and
// the gallery. The shell it starts from holds no data: everything comes from authenticated calls.

const views = ['playground', 'gallery'] as const;
type View = (typeof views)[number];
const accessStatus = byId('access-status');
const keyForm = byId<HTMLFormElement>('key-form');
const keyInput = byId<HTMLInputElement>('key');
const forget = byId<HTMLButtonElement>('forget-key');
let started = false;
let galleryLoaded = false;

function show(view: View, focus = false): void {
  for (const name of views) {
    byId(name).hidden = name !== view;
    document.querySelector(`nav a[data-view="${name}"]`)?.toggleAttribute('aria-current', false);
  }
  document.querySelector(`nav a[data-view="${view}"]`)?.setAttribute('aria-current', 'page');
  if (view === 'gallery' && started && !galleryLoaded) {
    galleryLoaded = true;
    void loadGallery(true);
  }
  if (focus) byId(`${view}-title`).focus();
}

const viewOfHash = (): View => (location.hash === '#gallery' ? 'gallery' : 'playground');

async function start(): Promise<void> {
  try {
    const { data } = await getJson<{ data: DeploymentInfo[] }>('/api/models');
    if (!started) {
      started = true;
      startPlayground(data);
      startGallery(data, () => {
        location.hash = '#playground';
      });
    }
    const key = keyStore.get();
    say(
      accessStatus,
      key
        ? `Using ${isAccessToken(key) ? 'an Entra ID access token' : isCallerKey(key) ? 'a caller key' : 'a function key'} (this tab only).`
        : 'Signed in.',
    );
    keyForm.hidden = true;
    forget.hidden = !key;
    show(viewOfHash());
  } catch (err) {
    const refused = err instanceof ApiError && err.status === 401;
    say(
      accessStatus,
      refused
        ? keyStore.get()
          ? 'The key was refused: paste another.'
          : 'Paste a key, or sign in, to use the studio.'
        : `The app did not answer: ${(err as Error).message}`,
      refused && keyStore.get() !== undefined,
    );
    keyForm.hidden = false;
    forget.hidden = !keyStore.get();
  }
}

keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const key = keyInput.value.trim();
  if (!key) return;
  keyStore.set(key);
  keyInput.value = '';
  void start();
});

forget.addEventListener('click', () => {
  keyStore.forget();
  location.reload();
});

addEventListener('hashchange', () => show(viewOfHash(), true));
for (const title of views) byId(`${title}-title`).tabIndex = -1;
show(viewOfHash());

void (async () => {
  const session = await platformSession();
  if (session.enabled) {
    byId('sign-in').hidden = session.user !== undefined;
    byId('sign-out').hidden = session.user === undefined;
  }
  await start();
})();
