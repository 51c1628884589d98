import { defineErrors } from '@tollgate/policies/definitions';

/** Errors of messaging routes (docs/messaging.md). */
export const MESSAGING_ERRORS = defineErrors({
  MESSAGING_BROKER_DOWN: { status: 503, title: 'The message broker is unavailable', description: 'The route\'s broker is not connected (down, unreachable or still connecting); answered at once, nothing was sent. Retry later.' },
  MESSAGING_NOT_CONFIRMED: { status: 503, title: 'The broker did not confirm the message', description: 'The broker did not confirm the publish in time (JetStream ack, RabbitMQ publisher confirm, MQTT PUBACK) or refused it (nack, no stream for the subject, missing exchange). The message may or may not have been stored: retry with the same `Idempotency-Key` where the broker de-duplicates.' },
  MESSAGING_REPLY_TIMEOUT: { status: 504, title: 'No reply in time', description: 'A request-reply route got no reply within its `timeoutMs`.' },
  MESSAGING_NO_RESPONDERS: { status: 503, title: 'Nobody answers this subject', description: 'NATS reported that no subscriber listens on the request subject.' },
  MESSAGING_BAD_TARGET: { status: 400, title: 'The path does not make a valid subject, routing key or topic', description: 'A path capture inserted into the subject, routing key or topic is empty or holds a separator or wildcard (`.`, `*`, `>`, `/`, `+`, `#`), which would address other subjects.' },
  MESSAGING_MESSAGE_TOO_LARGE: { status: 413, title: 'Message too large', description: 'The request body exceeds the route\'s `maxMessageBytes`.' },
  MESSAGING_SSE_REQUIRED: { status: 406, title: 'This route streams Server-Sent Events', description: 'A subscribe route answers GET requests that accept `text/event-stream`.' },
  MESSAGING_REFUSED: { status: 0, title: 'Refused by a policy', description: 'The final event of a subscription that a policy stopped with an answer that carries no code of its own (status: that answer\'s).' },
  MESSAGING_BAD_EVENT_ID: { status: 400, title: 'Invalid Last-Event-ID', description: 'A JetStream subscribe route resumes after a stream sequence: `Last-Event-ID` must be a non-negative integer.' },
});
