namespace Integracoes.Testing;

/// <summary>Waits for a condition by polling with a deadline: tests never sleep a fixed time.</summary>
public static class Eventually
{
    public static async Task<T> GetAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var value = await probe();
                if (value is not null && value is not false)
                {
                    return value;
                }
            }
            catch (Exception e)
            {
                last = e;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}.", last);
    }

    public static Task TrueAsync(Func<Task<bool>> probe, TimeSpan timeout, string what) =>
        GetAsync<object>(async () => await probe() ? true : null, timeout, what);
}
