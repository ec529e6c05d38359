import { WmsError } from '../../shared/errors/index.js';

/**
 * The template declares something the embedded runtime cannot reproduce faithfully, or is
 * malformed. The message names the logical id and the property path, so the stack author
 * knows what to change (or which table of the runtime to extend).
 */
export class TemplateError extends WmsError {
  override readonly name: string = 'TemplateError';
}

/** A Lambda event filter pattern outside the supported subset, or malformed. */
export class FilterPatternError extends WmsError {
  override readonly name: string = 'FilterPatternError';
}

/** The runtime cannot work with the environment it was started in (endpoint, credentials). */
export class RuntimeConfigurationError extends WmsError {
  override readonly name: string = 'RuntimeConfigurationError';
}

/**
 * A resource the runtime would create already exists with other settings than the template
 * declares. The message lists every difference, so the operator can delete the resource (or
 * use another prefix) instead of running on a stack that is not the one synthesized.
 */
export class ProvisioningMismatchError extends WmsError {
  override readonly name: string = 'ProvisioningMismatchError';
}
