/** The version of the line format, on the first line of every export. */
export const ARCHIVE_FORMAT = 1;
