using NanoNet.Layers;
using System.Diagnostics;
using NanoNet.Persistence;
using NanoNet.ResumeCheck;

namespace NanoNet.Tests;

/// <summary>
/// The exact-resume proof on real data: 4 epochs in one go equal 2 epochs, a checkpoint, and 2 more in a
/// new process (tools/ResumeCheck), bit for bit — weights and losses — with Adam under a cosine schedule
/// and augmentation on (needs NANONET_DATA).
/// </summary>
public class ExactResumeTests
{
    private const int Images = 2000;

    [Test]
    public void FourEpochsEqualTwoThenACheckpointThenTwoMoreInANewProcess()
    {
        string? root = Environment.GetEnvironmentVariable("NANONET_DATA");
        string archive = root is null ? "" : Path.Combine(root, "cifar-10-binary.tar.gz");
        if (!File.Exists(archive))
            Assert.Ignore("Set NANONET_DATA to the folder holding cifar-10-binary.tar.gz to run this test.");
        string folder = Directory.CreateTempSubdirectory("nanonet-resume-").FullName;
        try
        {
            var clock = Stopwatch.StartNew();
            var train = ResumeRecipe.LoadTrain(archive, Images);

            var (whole, wholeAugmentation) = ResumeRecipe.Create();
            TrainingHistory wholeHistory = ResumeRecipe.Train(whole, wholeAugmentation, train, initialEpoch: 0, epochs: 4);

            var (first, firstAugmentation) = ResumeRecipe.Create();
            TrainingHistory firstHistory = ResumeRecipe.Train(first, firstAugmentation, train, initialEpoch: 0, epochs: 2);
            string checkpoint = Path.Combine(folder, "after-2.ckpt");
            ResumeRecipe.Save(first, firstAugmentation, epoch: 2, checkpoint);
            TimeSpan inProcess = clock.Elapsed;

            string weights = Path.Combine(folder, "resumed.safetensors"), losses = Path.Combine(folder, "resumed-losses.txt");
            string tool = Path.Combine(AppContext.BaseDirectory, "ResumeCheck.dll");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string argument in new[] { tool, archive, Images.ToString(), checkpoint, "4", weights, losses })
                start.ArgumentList.Add(argument);
            using Process process = Process.Start(start)!;
            string output = process.StandardOutput.ReadToEnd(), errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.That(process.ExitCode, Is.Zero, $"ResumeCheck failed: {output}{errors}");

            var resumed = ResumeRecipe.Create().Model;
            resumed.LoadWeights(weights);
            string[] resumedLosses = File.ReadAllText(losses).Split('\n');
            string[] wholeLosses = ResumeRecipe.LossBits(wholeHistory).Split('\n');
            TestContext.Out.WriteLine($"{Images} CIFAR-10 images, {whole.ParameterCount} parameters; in-process 4 + 2 epochs {inProcess.TotalSeconds:F1} s, " +
                $"new process {(clock.Elapsed - inProcess).TotalSeconds:F1} s; checkpoint {new FileInfo(checkpoint).Length} bytes");
            TestContext.Out.WriteLine($"losses uninterrupted {string.Join(", ", wholeHistory.Epochs.Select(e => e.Loss.ToString("R")))}; " +
                $"first process {string.Join(", ", firstHistory.Epochs.Select(e => e.Loss.ToString("R")))}; new process bits {string.Join(", ", resumedLosses)}");
            TestContext.Out.WriteLine(output.Trim());

            Assert.That(ResumeRecipe.LossBits(firstHistory).Split('\n'), Is.EqualTo(wholeLosses[..2]));
            Assert.That(resumedLosses, Is.EqualTo(wholeLosses[2..]), "epochs 3 and 4: loss bits");
            Assert.That(whole.Optimizer!.Iterations, Is.EqualTo(4 * Images / ResumeRecipe.BatchSize));
            for (int i = 0; i < whole.Weights.Count; i++)
                Assert.That(resumed.Weights[i].Span.ToArray().Select(BitConverter.SingleToInt32Bits),
                    Is.EqualTo(whole.Weights[i].Span.ToArray().Select(BitConverter.SingleToInt32Bits)), $"weight {whole.Weights[i].Name}");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
