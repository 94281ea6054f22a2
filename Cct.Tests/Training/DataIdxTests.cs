using Cct.Training.Data;

namespace Cct.Tests.Training;

public sealed class DataIdxTests
{
    private TempFolder folder = null!;

    [SetUp]
    public void SetUp() => folder = new TempFolder();

    [TearDown]
    public void TearDown() => folder.Dispose();

    [TestCase(false)]
    [TestCase(true)]
    public void ReadsWhatWasWritten(bool gzip)
    {
        var (pixels, labels) = DataSamples.Random(5, seed: 1);
        var images = folder.File("images");
        var labelsPath = folder.File("labels");
        IdxFile.WriteImages(images, pixels, 5, 28, 28, gzip);
        IdxFile.WriteLabels(labelsPath, labels, gzip);

        var set = ImageDataset.Load(images, labelsPath, DatasetSpec.FashionMnist);

        Assert.That(set.Count, Is.EqualTo(5));
        Assert.That((set.Rows, set.Cols), Is.EqualTo((28, 28)));
        Assert.That(set.Pixels, Is.EqualTo(pixels));
        Assert.That(set.Labels, Is.EqualTo(labels));
        Assert.That(File.ReadAllBytes(images)[..2], gzip ? Is.EqualTo(new byte[] { 0x1f, 0x8b }) : Is.EqualTo(new byte[] { 0, 0 }));
    }

    /// <summary>Gzip is recognised by content: a raw file named .gz and a gzipped one without .gz both read.</summary>
    [Test]
    public void DetectsGzipByMagicNotName()
    {
        var (pixels, labels) = DataSamples.Random(3, seed: 2);
        var rawNamedGz = folder.File("images.gz");
        var gzNamedRaw = folder.File("labels-idx1-ubyte");
        IdxFile.WriteImages(rawNamedGz, pixels, 3, 28, 28, gzip: false);
        IdxFile.WriteLabels(gzNamedRaw, labels, gzip: true);

        Assert.That(IdxFile.ReadImages(rawNamedGz).Pixels, Is.EqualTo(pixels));
        Assert.That(IdxFile.ReadLabels(gzNamedRaw, 10), Is.EqualTo(labels));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void RejectsBadMagic(bool gzip)
    {
        var path = folder.Write("bad", DataSamples.Idx(0x12345678, [2, 28, 28], new byte[2 * 784]), gzip);
        AssertError(() => IdxFile.ReadImages(path), $"{path}: bad magic number 0x12345678, expected 0x00000803 (IDX images)");
    }

    [Test]
    public void RejectsWrongDimensionCount()
    {
        var path = folder.Write("labels-as-images", DataSamples.Idx(IdxFile.LabelsMagic, [3], [1, 2, 3]));
        AssertError(() => IdxFile.ReadImages(path), $"{path}: has 1 dimension(s) (magic 0x00000801), expected 3 for IDX images (magic 0x00000803)");
    }

    [Test]
    public void RejectsWrongImageSize()
    {
        var path = folder.Write("big", DataSamples.Idx(IdxFile.ImagesMagic, [1, 32, 32], new byte[1024]));
        AssertError(() => IdxFile.ReadImages(path), $"{path}: images are 32×32 pixels, expected 28×28");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void RejectsTruncatedImages(bool gzip)
    {
        var path = folder.Write("short", DataSamples.Idx(IdxFile.ImagesMagic, [5, 28, 28], new byte[(4 * 784) + 100]), gzip);
        AssertError(() => IdxFile.ReadImages(path), $"{path}: truncated: header declares 5 images (3,920 bytes) but only 3,236 bytes follow");
    }

    [Test]
    public void RejectsTruncatedLabels()
    {
        var path = folder.Write("short-labels", DataSamples.Idx(IdxFile.LabelsMagic, [10], [1, 2, 3]));
        AssertError(() => IdxFile.ReadLabels(path, 10), $"{path}: truncated: header declares 10 labels (10 bytes) but only 3 bytes follow");
    }

    [Test]
    public void RejectsTruncatedHeader()
    {
        var path = folder.Write("header", [0, 0, 8]);
        AssertError(() => IdxFile.ReadImages(path), $"{path}: truncated: too short for an IDX header");
        var sizes = folder.Write("sizes", DataSamples.Idx(IdxFile.ImagesMagic, [1, 28, 28], [])[..10]);
        AssertError(() => IdxFile.ReadImages(sizes), $"{sizes}: truncated: the IDX header ends before its 3 dimension size(s)");
    }

    [Test]
    public void RejectsTrailingData()
    {
        var path = folder.Write("long", DataSamples.Idx(IdxFile.LabelsMagic, [2], [1, 2, 3]));
        AssertError(() => IdxFile.ReadLabels(path, 10), $"{path}: more data than the 2 labels the header declares");
    }

    [Test]
    public void RejectsLabelOutOfRange()
    {
        var path = folder.Write("labels", DataSamples.Idx(IdxFile.LabelsMagic, [4], [0, 9, 10, 3]));
        AssertError(() => IdxFile.ReadLabels(path, 10), $"{path}: label 10 of item 2 is out of range; 10 classes allow 0 to 9");
    }

    [Test]
    public void RejectsImageLabelCountMismatch()
    {
        var (pixels, labels) = DataSamples.Random(5, seed: 3);
        var images = folder.File("images");
        var labelsPath = folder.File("labels");
        IdxFile.WriteImages(images, pixels, 5, 28, 28, gzip: true);
        IdxFile.WriteLabels(labelsPath, labels[..4], gzip: true);
        AssertError(() => ImageDataset.Load(images, labelsPath, DatasetSpec.Mnist), $"{images} holds 5 images but {labelsPath} holds 4 labels");
    }

    [Test]
    public void RejectsCorruptGzip()
    {
        var path = folder.Write("corrupt.gz", [0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x03, 0xff, 0xff, 0xff, 0xff, 0x12, 0x34]);
        var message = AssertError(() => IdxFile.ReadImages(path), $"{path}: corrupt gzip data (");
        Assert.That(message, Does.EndWith(")"));
    }

    /// <summary>A gzip stream cut short is reported, as a truncation or as corrupt gzip, never as success.</summary>
    [Test]
    public void RejectsCutGzipStream()
    {
        var (pixels, _) = DataSamples.Random(4, seed: 4);
        var path = folder.File("cut.gz");
        IdxFile.WriteImages(path, pixels, 4, 28, 28, gzip: true);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var error = Assert.Throws<DatasetException>(() => IdxFile.ReadImages(path))!;
        Assert.That(error.Message, Does.StartWith($"{path}: truncated: header declares 4 images").Or.StartWith($"{path}: corrupt gzip data"));
    }

    [Test]
    public void RejectsMissingFile()
    {
        var path = folder.File("nothing");
        AssertError(() => IdxFile.ReadLabels(path, 10), $"{path}: file not found");
    }

    /// <summary>Asserts a one-line <see cref="DatasetException"/> starting with <paramref name="expected"/>; returns its message.</summary>
    private static string AssertError(TestDelegate action, string expected)
    {
        var error = Assert.Throws<DatasetException>(action)!;
        Assert.That(error.Message, Does.StartWith(expected));
        Assert.That(error.Message, Does.Not.Contain('\n'));
        return error.Message;
    }
}
