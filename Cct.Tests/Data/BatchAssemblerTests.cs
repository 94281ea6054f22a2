using Cct.Gpu.Data;
using Cct.Gpu.Runtime;
using Cct.Tests.Support;

namespace Cct.Tests.Data;

public sealed class BatchAssemblerTests
{
    // Not square, so swapped axes fail; pixels 1..255, so the crop's zero fill is recognisable.
    private const int H = 9, W = 11, N = 6;
    private const float Mean = 0.2860f, Std = 0.3530f;
    private static readonly byte[] Pixels = MakePixels();

    [Test]
    public void WithoutAugmentationEqualsHostNormalisationExactly()
    {
        int[] indices = [4, 0, 0, 5, 2];
        var output = Assemble(indices, crop: false, flip: false, new RngKey(1, 0, 0));
        for (var b = 0; b < indices.Length; b++)
        {
            Assert.That(Sample(output, b), Is.EqualTo(Expected(indices[b], 0, 0, false)), $"sample {b}");
        }
    }

    [Test]
    public void FlipGivesTheImageOrItsMirrorAndBoth()
    {
        var indices = Enumerable.Range(0, 64).Select(i => i % N).ToArray();
        var output = Assemble(indices, crop: false, flip: true, new RngKey(2, 0, 0));
        var flipped = 0;
        for (var b = 0; b < indices.Length; b++)
        {
            var sample = Sample(output, b);
            var mirrored = sample.SequenceEqual(Expected(indices[b], 0, 0, true));
            Assert.That(mirrored || sample.SequenceEqual(Expected(indices[b], 0, 0, false)), Is.True, $"sample {b} is neither the image nor its mirror");
            flipped += mirrored ? 1 : 0;
        }

        Assert.That(flipped, Is.InRange(16, 48), "flip probability is not about 0.5");
    }

    [Test]
    public void CropGivesAShiftedCopyWithZeroFill()
    {
        var indices = Enumerable.Range(0, 96).Select(i => i % N).ToArray();
        var output = Assemble(indices, crop: true, flip: false, new RngKey(3, 0, 0));
        var shifts = new HashSet<(int, int)>();
        for (var b = 0; b < indices.Length; b++)
        {
            var matches = Matches(Sample(output, b), indices[b], flips: [false]);
            Assert.That(matches, Has.Count.EqualTo(1), $"sample {b} is not exactly one shift in [-4, 4]²");
            shifts.Add((matches[0].Dy, matches[0].Dx));
        }

        // 96 draws from 81 equally likely shifts: both extremes of an axis and many distinct ones show up.
        Assert.That(shifts, Has.Count.GreaterThan(40));
        Assert.That(shifts.Select(s => s.Item1).Distinct().Order(), Is.EqualTo(Enumerable.Range(-4, 9)));
        Assert.That(shifts.Select(s => s.Item2).Distinct().Order(), Is.EqualTo(Enumerable.Range(-4, 9)));
        Assert.That(output, Does.Contain((0f - Mean) / Std), "padding is 0 before normalisation");
    }

    [Test]
    public void CropAndFlipTogetherGiveAShiftedImageOrMirror()
    {
        var indices = Enumerable.Range(0, 32).Select(i => i % N).ToArray();
        var output = Assemble(indices, crop: true, flip: true, new RngKey(4, 0, 0));
        for (var b = 0; b < indices.Length; b++)
        {
            Assert.That(Matches(Sample(output, b), indices[b], flips: [false, true]), Is.Not.Empty, $"sample {b}");
        }
    }

    [Test]
    public void AugmentationIsAFunctionOfTheKey()
    {
        var indices = Enumerable.Range(0, 16).Select(i => i % N).ToArray();
        var key = new RngKey(5, 1, 7);
        var first = Assemble(indices, crop: true, flip: true, key);
        Assert.That(Assemble(indices, crop: true, flip: true, key), Is.EqualTo(first));
        Assert.That(Assemble(indices, crop: true, flip: true, key with { Step = 8 }), Is.Not.EqualTo(first));
        Assert.That(Assemble(indices, crop: true, flip: true, key with { Seed = 6 }), Is.Not.EqualTo(first));
    }

    [Test]
    public void GathersLabelsAndGuardsBadIndices()
    {
        var device = TestDevices.Cpu;
        using var labels = device.Upload([3, 1, 4, 1, 5, 9]);
        using var indices = device.Upload([5, 0, 2, 7, -1]);
        using var output = device.Upload(new int[5]);
        BatchAssembler.For(device).GatherLabels(output.View, labels.View, indices.View, 5);
        Assert.That(output.Read(), Is.EqualTo(new[] { 9, 3, 4, -1, -1 }));

        var images = Assemble([N, 1], crop: false, flip: false, new RngKey(1, 0, 0));
        Assert.That(images.Take(H * W), Is.All.NaN, "an index past the dataset gives NaN, not a stray read");
        Assert.That(images.Skip(H * W), Is.EqualTo(Expected(1, 0, 0, false)));
    }

    private static float[] Assemble(int[] indices, bool crop, bool flip, RngKey key)
    {
        var device = TestDevices.Cpu;
        var assembler = BatchAssembler.For(device);
        using var pixels = assembler.UploadPixels(Pixels);
        using var index = device.Upload(indices);
        using var output = device.Allocate(indices.Length * H * W);
        assembler.Assemble(output.View, pixels.View, index.View, indices.Length, H, W, Mean, Std, crop, flip, key);
        return output.Read();
    }

    private static float[] Sample(float[] batch, int b) => batch.AsSpan(b * H * W, H * W).ToArray();

    /// <summary>Host reference: image <paramref name="n"/> mirrored if asked, then read at (y + dy, x + dx) with 0 outside, normalised in fp32 as torchvision does.</summary>
    private static float[] Expected(int n, int dy, int dx, bool flip)
    {
        var result = new float[H * W];
        for (var y = 0; y < H; y++)
        {
            for (var x = 0; x < W; x++)
            {
                var (sy, sx) = (y + dy, (flip ? W - 1 - x : x) + dx);
                var p = sy is >= 0 and < H && sx is >= 0 and < W ? Pixels[(n * H * W) + (sy * W) + sx] : (byte)0;
                result[(y * W) + x] = ((p / 255f) - Mean) / Std;
            }
        }

        return result;
    }

    private static List<(int Dy, int Dx, bool Flip)> Matches(float[] sample, int n, bool[] flips)
    {
        var matches = new List<(int, int, bool)>();
        foreach (var flip in flips)
        {
            for (var dy = -BatchAssembler.Padding; dy <= BatchAssembler.Padding; dy++)
            {
                for (var dx = -BatchAssembler.Padding; dx <= BatchAssembler.Padding; dx++)
                {
                    if (sample.SequenceEqual(Expected(n, dy, dx, flip)))
                    {
                        matches.Add((dy, dx, flip));
                    }
                }
            }
        }

        return matches;
    }

    private static byte[] MakePixels()
    {
        var random = new Random(11);
        return Enumerable.Range(0, N * H * W).Select(_ => (byte)random.Next(1, 256)).ToArray();
    }
}
