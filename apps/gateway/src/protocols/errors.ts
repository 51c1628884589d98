import { defineErrors } from '@tollgate/policies/definitions';

/**
 * Errors of the protocol converters (docs/protocols.md). gRPC statuses of transcoded calls are
 * reported as `GRPC_<STATUS NAME>` with the HTTP status google/rpc/code.proto maps them to; the
 * catalogue lists that family from `grpc-status.ts`.
 */
export const CONVERTER_ERRORS = defineErrors({
  GRPC_NO_BINDING: { status: 404, title: 'No gRPC method for this path', description: 'No `google.api.http` binding of the route matches the method and path.' },
  GRPC_BAD_RESPONSE: { status: 502, title: 'The gRPC response could not be decoded', description: "The gRPC upstream's message does not decode with the method's response type." },
  GRPC_NO_METHOD: { status: 404, title: 'Not a gRPC method path', description: 'A gRPC-Web call must go to `/package.Service/Method`.' },
  INVALID_JSON: { status: 400, title: 'The request body is not JSON', description: 'A transcoded (gRPC, SOAP) route needs a JSON body (a JSON object where the body maps to a whole message).' },
  INVALID_ARGUMENT: { status: 400, title: 'The request does not fit the message', description: 'A JSON field has a name or type the gRPC message or SOAP envelope does not accept.' },
  GRPC_WEB_REQUIRED: { status: 415, title: 'This route takes gRPC-Web', description: 'A gRPC-Web route got something other than POST with a gRPC-Web content type.' },
  GRPC_WEB_BAD_FRAME: { status: 400, title: 'Malformed gRPC-Web body', description: 'The body is not exactly one uncompressed length-prefixed message frame.' },
  SOAP_BAD_RESPONSE: { status: 502, title: 'The SOAP upstream answered something else than SOAP', description: 'The SOAP upstream answered with a body that is not a SOAP envelope.' },
  SOAP_RESPONSE_TOO_LARGE: { status: 502, title: 'The SOAP response is too large', description: 'The SOAP response exceeds `maxResponseBytes`.' },
  SOAP_FAULT: { status: 0, title: 'The SOAP service answered with a fault', description: "The SOAP service answered with a fault, translated to JSON with the fault's code and reason (status: the route's fault mapping, default 502)." },
});
