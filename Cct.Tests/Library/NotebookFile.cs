using Cct.Gpu.IO;

namespace Cct.Tests.Library;

/// <summary>
/// What tools/notebook_to_safetensors.py writes for the seed notebook's best_model.pth, without PyTorch: the
/// notebook's tensors in its state_dict order (the PyTorch fixture's, whose num_batches_tracked are I64 as the
/// converter keeps them) and the converter's metadata, {"format": "seed-notebook", "source": ..., "parameters": ...}.
/// </summary>
public static class NotebookFile
{
    public static string Write(string folder)
    {
        var fixture = SafeTensorsFile.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", "seed_notebook.safetensors"));
        var tensors = fixture.Metadata["names"].Split(',').ToDictionary(name => name, name => fixture[name], StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = "seed-notebook",
            ["source"] = "best_model.pth",
            ["parameters"] = fixture.Metadata["parameters"],
        };
        var path = Path.Combine(folder, "best_model.safetensors");
        new SafeTensorsFile(tensors, metadata).Write(path);
        return path;
    }
}
