global using NUnit.Framework;
global using ILGPU;
global using ILGPU.Runtime;
global using Cct.Training.Check;
