import { WmsError } from '../errors/index.js';

/** Where a checklist object is, for messages: `s3://bucket/key`. */
export interface ChecklistObjectLocation {
  bucket: string;
  key: string;
}

const urlOf = (location: ChecklistObjectLocation) => `s3://${location.bucket}/${location.key}`;

/**
 * Why a checklist object cannot be used. `code` is what a dead-lettered `dataset.close` carries.
 * Every subclass but ChecklistObjectMissingError is permanent: the same object gives the same.
 */
export class ChecklistObjectError extends WmsError {
  override readonly name: string = 'ChecklistObjectError';
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The referenced object does not exist (yet): it may still be written. */
export class ChecklistObjectMissingError extends ChecklistObjectError {
  override readonly name: string = 'ChecklistObjectMissingError';
  constructor(
    readonly location: ChecklistObjectLocation,
    options?: ErrorOptions,
  ) {
    super('CHECKLIST_OBJECT_MISSING', `checklist object ${urlOf(location)} does not exist`, options);
  }
}

/** A reference outside the places the WMS reads checklists from. */
export class ChecklistLocationError extends ChecklistObjectError {
  override readonly name: string = 'ChecklistLocationError';
  constructor(
    readonly location: ChecklistObjectLocation,
    allowed: readonly string[],
    options?: ErrorOptions,
  ) {
    super(
      'CHECKLIST_LOCATION_REFUSED',
      `checklist object ${urlOf(location)} is outside the places checklists are read from (${allowed.join(', ')})`,
      options,
    );
  }
}

/** The object holds another number of names, or other bytes, than the reference says. */
export class ChecklistDigestError extends ChecklistObjectError {
  override readonly name: string = 'ChecklistDigestError';
  constructor(location: ChecklistObjectLocation, detail: string, options?: ErrorOptions) {
    super('CHECKLIST_OBJECT_MISMATCH', `checklist object ${urlOf(location)} ${detail}`, options);
  }
}

/** A line of the object is not a file name, or not after the line before it. */
export class ChecklistLineError extends ChecklistObjectError {
  override readonly name: string = 'ChecklistLineError';
  constructor(
    location: ChecklistObjectLocation,
    readonly line: number,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super('CHECKLIST_LINE_INVALID', `checklist object ${urlOf(location)} line ${line}: ${problem}`, options);
  }
}

/** Names given to the comparison out of order: a bug of the caller, never a mismatch. */
export class NamesOutOfOrderError extends WmsError {
  override readonly name: string = 'NamesOutOfOrderError';
  constructor(
    readonly side: 'registered' | 'checklist',
    readonly position: number,
    options?: ErrorOptions,
  ) {
    super(`the ${side} names are not in code-point order at name ${position}`, options);
  }
}
