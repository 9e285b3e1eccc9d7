"""Built-in content types: Container, Folder, Document, File, Image.

The bases in :mod:`baobab.content.resources` carry no declaration, so add-ons subclass them
freely; the classes here are the registered built-in types.
"""

from __future__ import annotations

from baobab.config.declarations import content_type
from baobab.content import resources
from baobab.schema.fields import File as FileField
from baobab.schema.fields import Image as ImageField
from baobab.schema.fields import Text

__all__ = [
    "Container",
    "Document",
    "DocumentSchema",
    "File",
    "FileSchema",
    "Folder",
    "Image",
    "ImageSchema",
]


@content_type(
    "Container",
    title="Container",
    description="A site: the top of an application's content",
    global_allow=False,
    add_permission="baobab.AddContainer",
    workflow="one_state_workflow",
)
class Container(resources.Container):
    pass


@content_type("Folder", title="Folder", description="A folder of content")
class Folder(resources.Folder):
    pass


class DocumentSchema:
    text = Text(
        title="Text",
        description="The body of the document",
        max_length=10_000_000,
        searchable=True,
    )


@content_type("Document", schema=DocumentSchema, title="Document", description="A page")
class Document(resources.Item):
    pass


class FileSchema:
    file = FileField(title="File", required=True)


@content_type("File", schema=FileSchema, title="File", description="A file to download")
class File(resources.Item):
    pass


class ImageSchema:
    image = ImageField(title="Image", required=True)


@content_type("Image", schema=ImageSchema, title="Image", description="An image")
class Image(resources.Item):
    pass
