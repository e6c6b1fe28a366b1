import { typeOrValueSpecifiersSchema } from '@typescript-eslint/type-utils';
import type { JSONSchema4 } from '@typescript-eslint/utils/json-schema';

/** The schema of a rule whose one option is a list of functions in typescript-eslint's type-or-value specifier format. */
export function specifierOptionSchema(option: string, description: string): JSONSchema4[] {
  return [
    {
      type: 'object',
      additionalProperties: false,
      properties: { [option]: { ...typeOrValueSpecifiersSchema, description } },
    },
  ];
}
