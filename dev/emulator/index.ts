// The emulator's public API: start it in-process, make test tokens, render the same images.
export {
  startOpenAIEmulator,
  DEFAULT_SETTINGS,
  GPT_IMAGE_MIN_API_VERSION,
  revisePrompt,
  type EmulatorConfig,
  type EmulatorOptions,
  type EmulatorSettings,
  type EmulatorStats,
  type OpenAIEmulator,
  type RecordedRequest,
} from './server.js';
export { startEmulatorFromEnv, optionsFromEnv, parseDeployments, DEFAULT_EMULATOR_PORT } from './main.js';
export { renderImage, clearRenderCache, seedFromPrompt, crc32, CONTENT_TYPES, FILE_EXTENSIONS, type ImageFormat, type RenderOptions } from './images.js';
export { isCognitiveServicesToken, COGNITIVE_SERVICES_AUDIENCE } from './auth.js';
export type { AzureErrorBody } from './errors.js';
export type { GenerationRequest } from './validation.js';
