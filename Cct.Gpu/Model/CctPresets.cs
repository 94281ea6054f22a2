namespace Cct.Gpu.Model;

/// <summary>
/// The published model sizes for 28×28×1 FashionMNIST and the seed notebook's model. Each property returns a new
/// <see cref="CctConfig"/>; change it with a <c>with</c> expression (<c>CctPresets.Cct7_3x1 with { Layers = 4 }</c>).
/// </summary>
public static class CctPresets
{
    /// <summary>CCT-2/3x2: 2 blocks, 2 heads, dim 128, two 3×3 convs; 280,651 parameters, 49 tokens.</summary>
    public static CctConfig Cct2_3x2 => CctConfig.Preset("cct-2/3x2");

    /// <summary>CCT-4/3x2: 4 blocks, 2 heads, dim 128, two 3×3 convs.</summary>
    public static CctConfig Cct4_3x2 => CctConfig.Preset("cct-4/3x2");

    /// <summary>CCT-6/3x1: 6 blocks, 4 heads, dim 256, one 3×3 conv.</summary>
    public static CctConfig Cct6_3x1 => CctConfig.Preset("cct-6/3x1");

    /// <summary>CCT-7/3x1: 7 blocks, 4 heads, dim 256, one 3×3 conv; 3,740,171 parameters, 196 tokens.</summary>
    public static CctConfig Cct7_3x1 => CctConfig.Preset("cct-7/3x1");

    /// <summary>
    /// The seed notebook's model: five 3×3 convs with bias, BatchNorm, ReLU and dropout 0.3, one MaxPool(2) to 196
    /// tokens of 128, four post-norm blocks (4 heads, ReLU MLP 256, attention dropout 0.2), mean pooling; 801,770
    /// parameters; inputs normalised with mean 0.5 and std 0.5. It attends over the tokens of each image.
    /// </summary>
    public static CctConfig Seed => CctConfig.Preset("seed");

    /// <summary>A one-block model of about 8k parameters, small enough to train on the CPU accelerator in seconds.</summary>
    public static CctConfig Tiny => CctConfig.Preset("cct-tiny");

    /// <summary>The names <see cref="ByName"/> and the <c>cct</c> CLI's <c>--model</c> accept.</summary>
    public static IReadOnlyList<string> Names => CctConfig.PresetNames;

    /// <summary>A preset by its CLI name (<c>cct-7/3x1</c>, <c>seed</c>, …); an unknown name is an <see cref="ArgumentException"/> listing the known ones.</summary>
    public static CctConfig ByName(string name) => CctConfig.Preset(name);
}
