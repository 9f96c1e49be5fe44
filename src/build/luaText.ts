/** What the build reads in a line of Lua source, shared by its passes. */

/**
 * A line without its `--` comment: one that starts the line or follows white space, the way the
 * project's Lua writes them (a `--` inside a string such as `'a--b'` is left alone).
 */
export const withoutComment = (line: string): string => line.replace(/(^|\s)--.*$/, "$1");
