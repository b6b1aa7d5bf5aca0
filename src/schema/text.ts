import { ValidateBy, type ValidationArguments } from 'class-validator';
import { type TextRule, textProblem } from '../services/text';

/**
 * The text rule of src/services/text.ts as a class-validator constraint on an
 * input field, so argument validation reports every bad field at once (in
 * `extensions.problems`). null and undefined are left to @IsOptional and the
 * GraphQL type. Used on every String field of every input; a field whose
 * resolver skips validation is checked by its service with checkText.
 */
export function Text(rule: TextRule): PropertyDecorator {
  return ValidateBy({
    name: `text:${rule.field}`,
    validator: {
      validate: (value: unknown) => value == null || (typeof value === 'string' && textProblem(value, rule) === null),
      defaultMessage: (args?: ValidationArguments) =>
        typeof args?.value === 'string' ? (textProblem(args.value, rule) ?? `${rule.field} is invalid`) : `${rule.field} must be text`,
    },
  });
}
