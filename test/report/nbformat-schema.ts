// The Jupyter notebook format, version 4.5, as a JSON schema (draft-07) for ajv. No npm package
// ships the official nbformat schema (it lives in the Python nbformat package), so this is written
// from the nbformat 4.5 specification, covering everything frb writes and the rules a reader
// enforces: the top-level keys and no others, nbformat 4 / minor >= 5, cell ids (required since
// 4.5, ^[a-zA-Z0-9-_]+$, 1-64 chars), the three cell types with their required keys and no
// others, code cell outputs (execute_result, display_data, stream, error), and mime bundles whose
// values are multiline strings except for JSON mime types (application/*+json), which may be any
// JSON value.

export const nbformatV45Schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  description: 'Jupyter Notebook v4.5 JSON schema (hand-written from the nbformat 4.5 specification).',
  type: 'object',
  additionalProperties: false,
  required: ['metadata', 'nbformat_minor', 'nbformat', 'cells'],
  properties: {
    metadata: {
      type: 'object',
      additionalProperties: true,
      properties: {
        kernelspec: {
          type: 'object',
          required: ['name', 'display_name'],
          properties: { name: { type: 'string' }, display_name: { type: 'string' } },
        },
        language_info: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string' },
            codemirror_mode: { oneOf: [{ type: 'string' }, { type: 'object' }] },
            file_extension: { type: 'string' },
            mimetype: { type: 'string' },
            pygments_lexer: { type: 'string' },
          },
        },
        orig_nbformat: { type: 'integer', minimum: 1 },
        title: { type: 'string' },
        authors: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } }, additionalProperties: true } },
      },
    },
    nbformat_minor: { type: 'integer', minimum: 5 },
    nbformat: { type: 'integer', minimum: 4, maximum: 4 },
    cells: { type: 'array', items: { $ref: '#/definitions/cell' } },
  },
  definitions: {
    cell_id: { type: 'string', pattern: '^[a-zA-Z0-9-_]+$', minLength: 1, maxLength: 64 },
    cell: {
      type: 'object',
      oneOf: [{ $ref: '#/definitions/raw_cell' }, { $ref: '#/definitions/markdown_cell' }, { $ref: '#/definitions/code_cell' }],
    },
    cell_metadata: {
      type: 'object',
      additionalProperties: true,
      properties: {
        name: { type: 'string', pattern: '^.+$' },
        tags: { type: 'array', uniqueItems: true, items: { type: 'string', pattern: '^[^,]+$' } },
        jupyter: { type: 'object', additionalProperties: true },
      },
    },
    raw_cell: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'cell_type', 'metadata', 'source'],
      properties: {
        id: { $ref: '#/definitions/cell_id' },
        cell_type: { enum: ['raw'] },
        metadata: { $ref: '#/definitions/cell_metadata' },
        attachments: { $ref: '#/definitions/attachments' },
        source: { $ref: '#/definitions/multiline_string' },
      },
    },
    markdown_cell: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'cell_type', 'metadata', 'source'],
      properties: {
        id: { $ref: '#/definitions/cell_id' },
        cell_type: { enum: ['markdown'] },
        metadata: { $ref: '#/definitions/cell_metadata' },
        attachments: { $ref: '#/definitions/attachments' },
        source: { $ref: '#/definitions/multiline_string' },
      },
    },
    code_cell: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'cell_type', 'metadata', 'source', 'outputs', 'execution_count'],
      properties: {
        id: { $ref: '#/definitions/cell_id' },
        cell_type: { enum: ['code'] },
        metadata: {
          allOf: [
            { $ref: '#/definitions/cell_metadata' },
            { properties: { collapsed: { type: 'boolean' }, scrolled: { enum: [true, false, 'auto'] } } },
          ],
        },
        source: { $ref: '#/definitions/multiline_string' },
        outputs: { type: 'array', items: { $ref: '#/definitions/output' } },
        execution_count: { type: ['integer', 'null'], minimum: 0 },
      },
    },
    output: {
      type: 'object',
      oneOf: [
        { $ref: '#/definitions/execute_result' },
        { $ref: '#/definitions/display_data' },
        { $ref: '#/definitions/stream' },
        { $ref: '#/definitions/error' },
      ],
    },
    execute_result: {
      type: 'object',
      additionalProperties: false,
      required: ['output_type', 'data', 'metadata', 'execution_count'],
      properties: {
        output_type: { enum: ['execute_result'] },
        execution_count: { type: ['integer', 'null'], minimum: 0 },
        data: { $ref: '#/definitions/mimebundle' },
        metadata: { $ref: '#/definitions/output_metadata' },
      },
    },
    display_data: {
      type: 'object',
      additionalProperties: false,
      required: ['output_type', 'data', 'metadata'],
      properties: {
        output_type: { enum: ['display_data'] },
        data: { $ref: '#/definitions/mimebundle' },
        metadata: { $ref: '#/definitions/output_metadata' },
      },
    },
    stream: {
      type: 'object',
      additionalProperties: false,
      required: ['output_type', 'name', 'text'],
      properties: {
        output_type: { enum: ['stream'] },
        name: { type: 'string' },
        text: { $ref: '#/definitions/multiline_string' },
      },
    },
    error: {
      type: 'object',
      additionalProperties: false,
      required: ['output_type', 'ename', 'evalue', 'traceback'],
      properties: {
        output_type: { enum: ['error'] },
        ename: { type: 'string' },
        evalue: { type: 'string' },
        traceback: { type: 'array', items: { type: 'string' } },
      },
    },
    attachments: {
      type: 'object',
      patternProperties: { '.*': { $ref: '#/definitions/mimebundle' } },
    },
    // Values are text (a string or a list of lines), except JSON mime types, which hold JSON.
    mimebundle: {
      type: 'object',
      patternProperties: { '^application/(.*\\+)?json$': {} },
      additionalProperties: { $ref: '#/definitions/multiline_string' },
    },
    output_metadata: { type: 'object', additionalProperties: true },
    multiline_string: {
      oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    },
  },
} as const;
