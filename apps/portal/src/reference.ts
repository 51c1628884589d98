import SwaggerUI from 'swagger-ui-dist/swagger-ui-es-bundle.js';
import 'swagger-ui-dist/swagger-ui.css';

/**
 * Renders an API's OpenAPI document with Swagger UI (bundled: this chunk is loaded only by the
 * reference page). "Try it out" calls the gateway named in the document's `servers`; the key the
 * developer typed is added as `X-API-Key` to calls to the gateway only, never to the portal.
 */
export function renderReference(node: HTMLElement, specUrl: string, gatewayUrl: string, key: () => string): void {
  const gateway = new URL(gatewayUrl).origin;
  SwaggerUI({
    url: specUrl,
    domNode: node,
    deepLinking: false,
    requestInterceptor: (request) => {
      const k = key();
      if (k !== '' && new URL(request.url, window.location.href).origin === gateway) request.headers['X-API-Key'] = k;
      return request;
    },
  });
}
