package assemble

// Labels pare build sets on a pared image, naming the image it was pared
// from (pare debug starts that image as the default toolbox).
const (
	// SourceImageLabel is the source reference as given to pare build
	// ("docker-daemon:nginx:latest").
	SourceImageLabel = "dev.pare.source.image"
	// SourceIDLabel is the source image's id: the digest of its config
	// ("sha256:..."), which is how Docker names a local image whatever
	// its tags, and which survives docker save and load.
	SourceIDLabel = "dev.pare.source.id"
)
