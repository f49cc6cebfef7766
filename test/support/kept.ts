import { renderImage } from '../../dev/fakes/emulator/images.js';
import type { ImageRecord } from '../../src/lib/images/record.js';

// A small image and the least of a record, for the tests that keep images without generating them.

export const keptRecord = (prompt: string) =>
  ({
    prompt,
    requested_model: 'gpt-image-2',
    served_model: 'gpt-image-2',
    deployment: 'gpt-image-2',
    n: 1,
    index: 0,
    created: 1,
  }) as ImageRecord;

export const smallPng = renderImage({ prompt: 'p', width: 64, height: 64, format: 'png', realistic: false });
