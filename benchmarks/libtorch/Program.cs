// The LibTorch side of benchmarks/compare-libtorch.sh: NanoNet's seed models written in TorchSharp 0.107
// (LibTorch 2.10 CPU: MKL GEMMs, oneDNN convolutions and fused LSTM), one case per process.
//
//   NanoNet.LibTorchPeer <case> <threads> <warmup> <steps>   one JSON line: median step time and examples/s
//   NanoNet.LibTorchPeer weaken-glibcxx [DIR]                lets libLibTorchSharp.so load on Debian 12 (GlibcxxPatch.cs)
//
// Cases (SeedCases.cs on NanoNet's side): cifar10-train (batch 64), cifar10-inference (256),
// text-train (32, T = 200), text-inference (256), cifar10-predict1 and text-predict1 (one sample).
// The CNN is timed in NCHW and in channels_last and the faster layout is reported, as a user would pick it.
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
        torch.set_num_interop_threads(threads); // allowed once, before any parallel work
        torch.set_num_threads(threads);

        string model = name.StartsWith("cifar10", StringComparison.Ordinal) ? "cifar10" : "text";
        string mode = name[(name.IndexOf('-') + 1)..];
        int batch = mode switch
        {
            "train" => model == "cifar10" ? 64 : 32,
            "inference" => 256,
            "predict1" => 1,
            _ => throw new ArgumentException($"unknown case '{name}'"),
        };
        (double ms, string layout) best = (double.MaxValue, "");
        foreach (string layout in model == "cifar10" ? new[] { "nchw", "channels_last" } : ["-"])
        {
            double ms = Median(Step(model, mode == "train", batch, layout == "channels_last"), warmup, steps);
            if (ms < best.ms)
                best = (ms, layout);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"side\": \"libtorch\", \"case\": \"{name}\", \"threads\": {torch.get_num_threads()}, \"batch\": {batch}, \"layout\": \"{best.layout}\", \"median_ms\": {best.ms:F4}, \"per_second\": {batch * 1000 / best.ms:F1}, \"libtorch\": \"{torch.__version__}\"}}"));
        return 0;
    }

    /// <summary>One training step (set-to-none zero_grad, forward, cross-entropy, backward, SGD 0.01) or one no-grad forward.</summary>
    private static Action Step(string model, bool train, int batch, bool channelsLast)
    {
        manual_seed(0);
        nn.Module<Tensor, Tensor> net = model == "cifar10" ? new CifarSeed(channelsLast) : new TextSeed();
        manual_seed(1);
        Tensor x = model == "cifar10" ? Images(batch, channelsLast) : randint(1, 20_000, [batch, 200], ScalarType.Int64);
        Tensor y = randint(0, model == "cifar10" ? 10 : 2, [batch], ScalarType.Int64);
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
        var sgd = optim.SGD(net.parameters(), 0.01);
        return () =>
        {
            using var scope = NewDisposeScope();
            net.zero_grad(); // Module.zero_grad sets the gradients to None, as PyTorch 2 does by default
            nn.functional.cross_entropy(net.call(x), y).backward();
            sgd.step();
        };
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

    /// <summary>The median of <paramref name="steps"/> individually timed steps after <paramref name="warmup"/> untimed ones.</summary>
    private static double Median(Action step, int warmup, int steps)
    {
        for (int i = 0; i < warmup; i++)
            step();
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
