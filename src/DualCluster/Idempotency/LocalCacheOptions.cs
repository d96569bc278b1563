namespace DualCluster.Idempotency;

/// <summary>
/// Settings of the small in-process cache of completed keys that <see cref="LocalCacheIdempotencyStore"/> keeps in front
/// of a remote store. Off by default.
/// </summary>
public sealed class LocalCacheOptions
{
    /// <summary>Whether the cache is used. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>How many completed keys the cache holds at most (1..1,000,000); when full it starts over empty. Default 10,000.</summary>
    public int Capacity { get; set; } = 10_000;

    /// <summary>
    /// How long a completed key is answered from the cache without asking the store (never longer than the retention
    /// the key was completed with). Default one minute.
    /// </summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Returns the first problem with these settings, or null when they are valid.</summary>
    /// <param name="section">The configuration path to name in the message, e.g. <c>LocalCache</c>.</param>
    public string? Validate(string section)
    {
        if (!Enabled)
        {
            return null;
        }

        if (Capacity is < 1 or > 1_000_000)
        {
            return $"{section}.Capacity must be between 1 and 1000000 (was {Capacity}).";
        }

        return MaxAge <= TimeSpan.Zero ? $"{section}.MaxAge must be positive (was {MaxAge})." : null;
    }
}
