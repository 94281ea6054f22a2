namespace Cct.Training.Data;

/// <summary>The datasets Cct knows.</summary>
public enum DatasetKind
{
    /// <summary>Zalando's FashionMNIST: 28×28 greyscale clothing in 10 classes.</summary>
    FashionMnist,
    /// <summary>LeCun's MNIST: 28×28 greyscale digits.</summary>
    Mnist,
}
