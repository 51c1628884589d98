import { z } from 'zod';

/** A `.proto` file name as imports spell it: relative segments of letters, digits, `_`, `-`, `.`, ending in `.proto`. */
export const protoFileName = z
  .string()
  .min(7)
  .max(512)
  .regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]*(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*\.proto$/, 'must be a relative file name such as "library/v1/library.proto" (no leading "/", no "..")')
  .refine((n) => !n.split('/').some((s) => s === '.' || s === '..'), 'must not contain "." or ".." segments');

/**
 * Protobuf schemas uploaded by the operator, used by routes with a `grpc` action to transcode
 * JSON to protobuf and back. Parsed and checked at apply time (protobufjs); an invalid file, an
 * unresolved import or type is refused with the document path.
 */
export const protoDescriptorSpecSchema = z
  .strictObject({
    files: z
      .record(protoFileName, z.string().min(1).max(1_048_576))
      .optional()
      .describe(
        '`.proto` sources by file name (the name other files `import`). Imports resolve among these files; `google/api/annotations.proto`, `google/api/http.proto`, `google/protobuf/descriptor.proto` and the well-known types (`google/protobuf/timestamp.proto`, `duration`, `wrappers`, `struct`, `empty`, `field_mask`, `any`) are bundled.',
      ),
    descriptorSet: z
      .string()
      .min(4)
      .max(8_388_608)
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64 (standard alphabet, no line breaks)')
      .optional()
      .describe('A serialized `google.protobuf.FileDescriptorSet` in base64, as `protoc --include_imports --descriptor_set_out` writes it; `google.api.http` method options are read from it.'),
  })
  .describe('Protobuf schemas (.proto sources or a FileDescriptorSet) that gRPC routes transcode with.')
  .superRefine((s, ctx) => {
    const given = [s.files, s.descriptorSet].filter((v) => v !== undefined).length;
    if (given !== 1) ctx.addIssue({ code: 'custom', path: s.files === undefined ? ['files'] : ['descriptorSet'], message: 'give exactly one of files or descriptorSet' });
    if (s.files !== undefined && Object.keys(s.files).length === 0) ctx.addIssue({ code: 'custom', path: ['files'], message: 'give at least one file' });
    if (s.files !== undefined && Object.keys(s.files).length > 256) ctx.addIssue({ code: 'custom', path: ['files'], message: 'at most 256 files' });
  });

export type ProtoDescriptorSpec = z.infer<typeof protoDescriptorSpecSchema>;
