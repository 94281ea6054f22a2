using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Cct.Tests.Training;

/// <summary>Serves a name → bytes map over HTTP on 127.0.0.1; 404 for anything else.</summary>
internal sealed class LoopbackServer : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly IReadOnlyDictionary<string, byte[]> files;
    private readonly Task loop;

    public LoopbackServer(IReadOnlyDictionary<string, byte[]> files)
    {
        this.files = files;
        Url = new Uri($"http://127.0.0.1:{FreePort()}/");
        listener.Prefixes.Add(Url.ToString());
        listener.Start();
        loop = Task.Run(ServeAsync);
    }

    public Uri Url { get; }

    /// <summary>Paths requested so far.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>When set, announce the full length but drop the connection after this many bytes.</summary>
    public int? CutAfter { get; set; }

    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        listener.Stop();
        listener.Close();
        loop.Wait(TimeSpan.FromSeconds(5));
    }

    private async Task ServeAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            var path = context.Request.Url!.AbsolutePath;
            Requests.Enqueue(path);
            var response = context.Response;
            if (!files.TryGetValue(path.TrimStart('/'), out var body))
            {
                response.StatusCode = 404;
                response.Close();
                continue;
            }

            response.ContentLength64 = body.Length;
            if (CutAfter is { } cut)
            {
                await response.OutputStream.WriteAsync(body.AsMemory(0, cut));
                await response.OutputStream.FlushAsync();
                response.Abort();
                continue;
            }

            await response.OutputStream.WriteAsync(body);
            response.Close();
        }
    }
}
