/** Functions libraries the tests put on a server beside this build's own. */

/** The FUNCTION LOAD text of a library `name` registering one function `fn` that returns 1. */
export function oneFunctionLibrary(name: string, fn: string): string {
  return `#!lua name=${name}\nredis.register_function('${fn}', function() return 1 end)\n`;
}

/** An earlier generation's version of the ATR script, as a rolling upgrade leaves it on a server. */
export const OLDER_ATR_LIBRARY = { name: "mathd_atr_v0_9_0", code: oneFunctionLibrary("mathd_atr_v0_9_0", "atr_v0_9_0") };

/** A library of another application on the same server, which nothing of this SDK may touch. */
export const OTHER_APPLICATION_LIBRARY = { name: "someone_elses", fn: "theirs", code: oneFunctionLibrary("someone_elses", "theirs") };
