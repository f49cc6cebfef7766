import { errors, json, pathParameter, ref, tags } from './shared.js';

// The Webhooks tag: subscriptions to image jobs that end, as Power Automate and Logic Apps make them.

const subscriptionIdParameter = pathParameter('id', 'The subscription id from the 201 answer.');

export const webhookPaths = {
  '/images/subscriptions': {
    post: {
      operationId: 'SubscribeImageEvents',
      tags: [tags.webhooks],
      summary: 'Subscribe to image jobs that end',
      description:
        'Delivers the end of image jobs to a callback URL (the x-ms-notification-url header, or callback_url): of one job, when the body brings a request to run, or of every job that ends. Deliveries are signed as Standard Webhooks specifies and retried with backoff.',
      parameters: [
        {
          name: 'x-ms-notification-url',
          in: 'header',
          required: false,
          description: 'Where to POST: set by Power Automate and Logic Apps.',
          schema: { type: 'string' },
        },
      ],
      requestBody: {
        required: false,
        description: 'What to subscribe to.',
        content: { 'application/json': { schema: ref('SubscriptionRequest') } },
      },
      responses: {
        '201': json('Subscription', 'Subscribed; DELETE the Location to unsubscribe.', {
          Location: { description: 'The subscription: DELETE it to unsubscribe.', schema: { type: 'string' } },
        }),
        ...errors(400, 401, 413, 503),
      },
    },
    delete: {
      operationId: 'UnsubscribeImageEventsByCallback',
      tags: [tags.webhooks],
      summary: 'Unsubscribe a callback URL',
      description:
        "Ends every subscription of a callback URL: Logic Apps' HTTP Webhook action knows its callback, not the subscription's id.",
      parameters: [
        {
          name: 'callback_url',
          in: 'query',
          required: true,
          description: 'The callback URL the subscriptions deliver to.',
          schema: { type: 'string' },
        },
      ],
      responses: { '200': json('Unsubscribed', 'How many subscriptions ended.'), ...errors(400, 401, 503) },
    },
  },
  '/images/subscriptions/{id}': {
    get: {
      operationId: 'GetImageSubscription',
      tags: [tags.webhooks],
      summary: 'Get a subscription',
      description: 'Reads a subscription: its deliveries, and those given up on with the last reason.',
      parameters: [subscriptionIdParameter],
      responses: { '200': json('Subscription', 'The subscription.'), ...errors(401, 404, 503) },
    },
    delete: {
      operationId: 'UnsubscribeImageEvents',
      tags: [tags.webhooks],
      summary: 'Unsubscribe',
      description: 'Ends a subscription: the Location its 201 answer gave.',
      parameters: [subscriptionIdParameter],
      responses: { '200': json('Unsubscribed', 'The subscription ended.'), ...errors(401, 404, 503) },
    },
  },
};
