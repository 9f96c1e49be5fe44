-- The least a script-side cache hit can cost: the same ARGV delivered to a script, one GET.
return redis.call('GET', KEYS[1])
