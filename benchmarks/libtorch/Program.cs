// The LibTorch side of benchmarks/compare-libtorch.sh: NanoNet's seed models written in TorchSharp 0.107
// (LibTorch 2.10 CPU: MKL GEMMs, oneDNN convolutions and fused LSTM), one case per process.
//
//   NanoNet.LibTorchPeer <case> <threads> <warmup> <steps>   one JSON line: median step time and examples/s
//   NanoNet.LibTorchPeer weaken-glibcxx [DIR]                lets libLibTorchSharp.so load on Debian 12 (GlibcxxPatch.cs)
//
// Cases (SeedCases.cs on NanoNet's side): cifar10-train (batch 64), cifar10-inference (256),
// text-train (32, T = 200), text-inference (256), imdb-train and imdb-inference (the text model on real IMDB
// reviews: ids from the file NANONET_CASE_IDS_FILE names), cifar10-predict1 and text-predict1 (one sample),
// keras-cifar10-train (32: the Keras example cifar10_cnn with dropout and RMSprop).
// The CNNs are timed in NCHW and in channels_last and the faster layout is reported, as a user would pick it.
// Every timing warms up for at least 2 s and 40 steps and then until 40 steps in a row and 0.3 s compiled no .NET method
// (at most 60 s): benchmarks/SteadyState.cs, the file NanoNet's side uses, compiled in here too.
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NanoNet.LibTorchPeer;

public static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["weaken-glibcxx", ..])
            return GlibcxxPatch.Run(args.Length > 1 ? args[1] : AppContext.BaseDirectory);
        if (args.Length != 4)
        {
            Console.Error.WriteLine("usage: NanoNet.LibTorchPeer <case> <threads> <warmup> <steps> | weaken-glibcxx [DIR]");
            return 2;
        }
        string name = args[0];
        int threads = int.Parse(args[1], CultureInfo.InvariantCulture);
        int warmup = int.Parse(args[2], CultureInfo.InvariantCulture);
        int steps = int.Parse(args[3], CultureInfo.InvariantCulture);
        // torch.set_flush_denormal(True) before any thread exists (FlushDenormal.cs), as a user who times LibTorch on an
        // Intel core would set it: without it this LSTM trains 12x slower there. NANONET_PEER_FLUSH_DENORMAL=0 leaves it off.
        bool flushDenormal = Environment.GetEnvironmentVariable("NANONET_PEER_FLUSH_DENORMAL") != "0" && FlushDenormal.TurnOn();
        torch.set_num_interop_threads(threads); // allowed once, before any parallel work
        torch.set_num_threads(threads);

        int dash = name.LastIndexOf('-');
        string model = dash > 0 ? name[..dash] : "", mode = name[(dash + 1)..];
        if (model is not ("cifar10" or "text" or "imdb" or "keras-cifar10") || mode is not ("train" or "inference" or "predict1"))
            throw new ArgumentException($"unknown case '{name}'");
        int batch = mode switch
        {
            "train" => model is "text" or "imdb" ? 32 : model == "keras-cifar10" ? 32 : 64,
            "inference" => 256,
            _ => 1,
        };
        (double ms, string layout) best = (double.MaxValue, "");
        foreach (string layout in model is "text" or "imdb" ? ["-"] : new[] { "nchw", "channels_last" })
        {
            double ms = Median(Step(model, mode == "train", batch, layout == "channels_last"), warmup, steps);
            if (ms < best.ms)
                best = (ms, layout);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"side\": \"libtorch\", \"case\": \"{name}\", \"threads\": {torch.get_num_threads()}, \"batch\": {batch}, \"layout\": \"{best.layout}\", \"median_ms\": {best.ms:F4}, \"per_second\": {batch * 1000 / best.ms:F1}, \"libtorch\": \"{torch.__version__}\", \"flush_denormal\": {(flushDenormal ? "true" : "false")}}}"));
        return 0;
    }

    /// <summary>
    /// One training step (set-to-none zero_grad, forward, cross-entropy, backward, SGD 0.01; RMSprop for the Keras
    /// model) or one no-grad forward.
    /// </summary>
    private static Action Step(string model, bool train, int batch, bool channelsLast)
    {
        manual_seed(0);
        nn.Module<Tensor, Tensor> net = model switch
        {
            "cifar10" => new CifarSeed(channelsLast),
            "keras-cifar10" => new KerasCifar10(channelsLast),
            _ => new TextSeed(),
        };
        manual_seed(1);
        Tensor x = model switch
        {
            "text" => randint(1, 20_000, [batch, 200], ScalarType.Int64),
            "imdb" => ImdbIds(batch),
            _ => Images(batch, channelsLast),
        };
        Tensor y = randint(0, model is "text" or "imdb" ? 2 : 10, [batch], ScalarType.Int64);
        if (!train)
        {
            net.eval();
            return () =>
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                net.call(x);
            };
        }
        net.train();
        // Keras' RMSprop(1e-4) is PyTorch's with alpha = rho = 0.9 and eps = 1e-7 (PyTorch adds eps outside the root,
        // as the Keras 2 of the example did).
        optim.Optimizer optimizer = model == "keras-cifar10"
            ? optim.RMSProp(net.parameters(), lr: 1e-4, alpha: 0.9, eps: 1e-7)
            : optim.SGD(net.parameters(), 0.01);
        return () =>
        {
            using var scope = NewDisposeScope();
            net.zero_grad(); // Module.zero_grad sets the gradients to None, as PyTorch 2 does by default
            nn.functional.cross_entropy(net.call(x), y).backward();
            optimizer.step();
        };
    }

    /// <summary>
    /// The imdb-* cases' ids: real IMDB reviews, N×200 int32 in the file NANONET_CASE_IDS_FILE names (NanoNet's side of
    /// the comparison writes it; this project has no IMDB reader).
    /// </summary>
    private static Tensor ImdbIds(int batch)
    {
        string path = Environment.GetEnvironmentVariable("NANONET_CASE_IDS_FILE")
            ?? throw new InvalidOperationException("The imdb-* cases read their ids from the file NANONET_CASE_IDS_FILE names.");
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length != batch * 200 * sizeof(int))
            throw new InvalidDataException($"{path}: {bytes.Length} bytes, expected {batch}×200 int32 ids ({batch * 200 * sizeof(int)} bytes).");
        var ids = new long[batch * 200];
        for (int i = 0; i < ids.Length; i++)
            ids[i] = BitConverter.ToInt32(bytes, i * sizeof(int));
        return tensor(ids, [batch, 200]);
    }

    private static Tensor Images(int batch, bool channelsLast)
    {
        Tensor nchw = rand([batch, 3, 32, 32]);
        return channelsLast ? ChannelsLast(nchw) : nchw;
    }

    /// <summary>A copy with channels_last strides: TorchSharp has no memory_format argument, so it is made as PyTorch makes it.</summary>
    internal static Tensor ChannelsLast(Tensor t)
    {
        long[] s = t.shape; // N, C, H, W
        Tensor r = empty_strided(s, [s[1] * s[2] * s[3], 1, s[3] * s[1], s[1]], t.dtype, t.device);
        r.copy_(t);
        return r;
    }

    /// <summary>
    /// The median of <paramref name="steps"/> individually timed steps after at least <paramref name="warmup"/> untimed
    /// ones (and the warm-up rule of the file's header: TorchSharp's own C# code is tiered by the JIT too).
    /// </summary>
    private static double Median(Action step, int warmup, int steps)
    {
        NanoNet.Benchmarks.SteadyState.WarmUp(step, Math.Max(warmup, NanoNet.Benchmarks.SteadyState.CaseMinSteps),
            NanoNet.Benchmarks.SteadyState.CaseMinSeconds);
        var times = new double[steps];
        for (int i = 0; i < steps; i++)
        {
            long start = Stopwatch.GetTimestamp();
            step();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return times[steps / 2];
    }

    /// <summary>Conv2d(3→32, 3×3, valid) + ReLU → MaxPool 2 → Flatten → Linear(7200→128) + ReLU → Linear(128→10), logits.</summary>
    private sealed class CifarSeed : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv = nn.Conv2d(3, 32, 3);
        private readonly Linear fc1 = nn.Linear(7200, 128), fc2 = nn.Linear(128, 10);

        public CifarSeed(bool channelsLast) : base(nameof(CifarSeed))
        {
            using (no_grad())
            {
                foreach (Parameter w in new[] { conv.weight, fc1.weight, fc2.weight })
                    nn.init.xavier_uniform_(w); // Keras's defaults; speed does not depend on them
                foreach (Parameter b in new[] { conv.bias!, fc1.bias!, fc2.bias! })
                    nn.init.zeros_(b);
                if (channelsLast)
                    conv.weight = new Parameter(ChannelsLast(conv.weight));
            }
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using Tensor c = nn.functional.relu(conv.call(x));
            using Tensor p = nn.functional.max_pool2d(c, 2);
            using Tensor h = nn.functional.relu(fc1.call(p.flatten(1)));
            return fc2.call(h);
        }
    }

    /// <summary>
    /// The Keras example cifar10_cnn: Conv2d(3→32, same) → Conv2d(32→32) → MaxPool 2 → Dropout(0.25) →
    /// Conv2d(32→64, same) → Conv2d(64→64) → MaxPool 2 → Dropout(0.25) → Flatten → Linear(2304→512) + ReLU →
    /// Dropout(0.5) → Linear(512→10), logits; 3×3 kernels, ReLU after every conv.
    /// </summary>
    private sealed class KerasCifar10 : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1 = nn.Conv2d(3, 32, 3, padding: 1), conv2 = nn.Conv2d(32, 32, 3),
            conv3 = nn.Conv2d(32, 64, 3, padding: 1), conv4 = nn.Conv2d(64, 64, 3);
        private readonly Linear fc1 = nn.Linear(2304, 512), fc2 = nn.Linear(512, 10);
        private readonly Dropout drop1 = nn.Dropout(0.25), drop2 = nn.Dropout(0.25), drop3 = nn.Dropout(0.5);

        public KerasCifar10(bool channelsLast) : base(nameof(KerasCifar10))
        {
            using (no_grad())
            {
                foreach (Conv2d c in new[] { conv1, conv2, conv3, conv4 })
                {
                    nn.init.xavier_uniform_(c.weight);
                    nn.init.zeros_(c.bias!);
                    if (channelsLast)
                        c.weight = new Parameter(ChannelsLast(c.weight));
                }
                foreach (Linear l in new[] { fc1, fc2 })
                {
                    nn.init.xavier_uniform_(l.weight);
                    nn.init.zeros_(l.bias!);
                }
            }
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using Tensor c1 = nn.functional.relu(conv1.call(x));
            using Tensor c2 = nn.functional.relu(conv2.call(c1));
            using Tensor p1 = nn.functional.max_pool2d(c2, 2);
            using Tensor d1 = drop1.call(p1);
            using Tensor c3 = nn.functional.relu(conv3.call(d1));
            using Tensor c4 = nn.functional.relu(conv4.call(c3));
            using Tensor p2 = nn.functional.max_pool2d(c4, 2);
            using Tensor d2 = drop2.call(p2);
            using Tensor h = nn.functional.relu(fc1.call(d2.flatten(1)));
            using Tensor d3 = drop3.call(h);
            return fc2.call(d3);
        }
    }

    /// <summary>Embedding(20000, 128) → LSTM(128, batch-first), last hidden state → Linear(128→2), logits.</summary>
    private sealed class TextSeed : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding embedding = nn.Embedding(20_000, 128);
        private readonly LSTM lstm = nn.LSTM(128, 128, batchFirst: true);
        private readonly Linear fc = nn.Linear(128, 2);

        public TextSeed() : base(nameof(TextSeed)) => RegisterComponents();

        public override Tensor forward(Tensor ids)
        {
            using Tensor e = embedding.call(ids);
            (Tensor output, Tensor h, Tensor c) = lstm.call(e);
            output.Dispose();
            c.Dispose();
            using (h)
                return fc.call(h[-1]);
        }
    }
}
