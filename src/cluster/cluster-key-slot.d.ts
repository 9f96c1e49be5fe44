// cluster-key-slot ships no types. It is ioredis's own dependency (the same version routes
// ioredis's commands), so the slot computed here is the slot ioredis sends the command to.
declare module "cluster-key-slot" {
  /** The cluster slot (0..16383) of a key, honouring a `{hash tag}`. */
  function calculateSlot(key: string | Buffer): number;
  namespace calculateSlot {
    /** The slot shared by every key, or -1 when they do not share one. */
    function generateMulti(keys: readonly (string | Buffer)[]): number;
  }
  export = calculateSlot;
}
