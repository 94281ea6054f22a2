namespace Cct.Gpu.Layers;

/// <summary>What <see cref="LandingTaps.Sum{TReader}"/> adds for one window tap (kh, kw) that lands on output (oh, ow).</summary>
internal interface ITapReader
{
    float Read(int kh, int kw, int oh, int ow);
}
