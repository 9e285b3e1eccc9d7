"""Subtree operations never hand anyone an object they could not View (docs/security.md,
"Subtree operations"): a copy leaves hidden objects out, a move of a subtree holding one is
refused, and copies carry no one's local roles but the copier's Owner.

The attacker is ``member`` (no global role that Views private content), given local roles;
``reviewer`` (a global Reviewer, who may not View private content) is the bystander.
"""

from __future__ import annotations

import random

import pytest

from baobab.testing import BaobabClient, Unchanged, add, assert_envelope, share, update_sharing

READER, CONTRIBUTOR, EDITOR = "baobab.Reader", "baobab.Contributor", "baobab.Editor"


async def items(client: BaobabClient, path: str) -> list[str]:
    resp = await client.get(path)
    assert resp.status_code == 200, resp.text
    return sorted(item["@id"].rsplit("/", 1)[1] for item in resp.json()["items"])


async def status(client: BaobabClient, path: str) -> int:
    return (await client.get(path)).status_code


async def home_for(client: BaobabClient, site: str, who: str = "member") -> str:
    """A folder where ``who`` may add (Contributor there)."""
    home = await add(client, site, "Folder", "home")
    await share(client, home, who, CONTRIBUTOR)
    return home


async def test_copy_leaves_out_a_private_draft_of_a_published_folder(
    client: BaobabClient, site: str
) -> None:
    pub = await add(client, site, "Folder", "pub")
    await client.post(f"{pub}/@workflow/publish")
    news = await add(client, pub, "Document", "news", text="public")
    await client.post(f"{news}/@workflow/publish")
    draft = await add(client, pub, "Document", "draft", text="secret draft")
    home = await home_for(client, site)
    member = client.as_user("member")
    assert await status(member, news) == 200
    assert await status(member, draft) == 404
    resp = await member.post(f"{pub}/@copy", json={"destination": home})
    assert resp.status_code == 201, resp.text
    copy = f"{home}/pub"
    assert resp.json()["items_total"] == 1
    assert await items(member, copy) == ["news"]
    assert await status(member, f"{copy}/draft") == 404
    assert await status(client, f"{copy}/draft") == 404  # not copied at all, not merely hidden
    assert (await member.get(f"{copy}/news")).json()["text"] == "public"
    assert await items(client, pub) == ["draft", "news"]  # the original is untouched


async def test_copy_leaves_out_what_is_below_a_block(client: BaobabClient, site: str) -> None:
    proj = await add(client, site, "Folder", "proj")
    await share(client, proj, "member", READER)
    await add(client, proj, "Document", "plan")
    hr = await add(client, proj, "Folder", "hr")
    await update_sharing(client, hr, inherit=False)
    await add(client, hr, "Document", "salaries")
    # a grant below the hidden folder: member may View hr/memo, but not hr
    memo = await add(client, hr, "Document", "memo")
    await share(client, memo, "member", READER)
    home = await home_for(client, site)
    member = client.as_user("member")
    assert (await status(member, hr), await status(member, memo)) == (404, 200)
    resp = await member.post(f"{proj}/@copy", json={"destination": home, "new_id": "mine"})
    assert resp.status_code == 201, resp.text
    assert await items(client, f"{home}/mine") == ["plan"]  # hr goes, with all below it
    for hidden in ("hr", "hr/salaries", "hr/memo"):
        assert await status(client, f"{home}/mine/{hidden}") == 404


async def test_copy_beside_the_original_leaves_out_the_same(
    client: BaobabClient, site: str
) -> None:
    home = await home_for(client, site)
    folder = await add(client, home, "Folder", "f")
    await add(client, folder, "Document", "seen")
    hidden = await add(client, folder, "Folder", "hidden")
    await update_sharing(client, hidden, inherit=False)
    inner = await add(client, folder, "Folder", "inner")
    await add(client, inner, "Document", "deep")
    deep_hidden = await add(client, inner, "Folder", "deeper")
    await update_sharing(client, deep_hidden, inherit=False)
    member = client.as_user("member")
    resp = await member.post(f"{folder}/@copy", json={"new_id": "twin"})
    assert resp.status_code == 201, resp.text
    twin = f"{home}/twin"
    assert await items(client, twin) == ["inner", "seen"]
    assert await items(client, f"{twin}/inner") == ["deep"]


async def test_copies_carry_only_the_copiers_owner_role(client: BaobabClient, site: str) -> None:
    proj = await add(client, site, "Folder", "proj")
    await share(client, proj, "member", READER)
    doc = await add(client, proj, "Document", "doc")
    await share(client, doc, "reviewer", EDITOR)  # someone else's grant on the original
    closed = await add(client, proj, "Folder", "closed")
    await update_sharing(client, closed, {"member": {READER: True}}, inherit=False)
    home = await home_for(client, site)
    member = client.as_user("member")
    resp = await member.post(f"{proj}/@copy", json={"destination": home})
    assert resp.status_code == 201, resp.text
    reviewer = client.as_user("reviewer")
    assert await status(reviewer, doc) == 200
    assert await status(reviewer, f"{home}/proj/doc") == 404  # the grant stayed behind
    assert (await reviewer.patch(f"{home}/proj/doc", json={"title": "x"})).status_code == 404
    for path in ("proj", "proj/doc", "proj/closed"):
        sharing = (await client.get(f"{home}/{path}/@sharing")).json()
        local = {
            e["id"]: sorted(r for r, v in e["roles"].items() if v is True)
            for e in sharing["entries"]
        }
        assert local.get("reviewer", []) == [], (path, sharing)
        assert local.get("member", []) == [], (path, sharing)  # Owner is not sharable
    # the block travels with the copy (as in Plone); the copier owns what is below it
    assert (await client.get(f"{home}/proj/closed/@sharing")).json()["inherit"] is False
    assert (await client.get(f"{home}/proj/@sharing")).json()["inherit"] is True
    assert (await member.patch(f"{home}/proj/closed", json={"title": "mine"})).status_code == 204


async def _area(client: BaobabClient, site: str) -> dict[str, str]:
    """``member`` is Editor and Contributor on ``area``; ``area/proj/hr`` blocks inheritance
    (hidden from member); ``area/dest`` is a folder where ``reviewer`` is Reader."""
    area = await add(client, site, "Folder", "area")
    await update_sharing(client, area, {"member": {EDITOR: True, CONTRIBUTOR: True}})
    proj = await add(client, area, "Folder", "proj")
    await add(client, proj, "Document", "plan")
    hr = await add(client, proj, "Folder", "hr")
    await update_sharing(client, hr, inherit=False)
    salaries = await add(client, hr, "Document", "salaries")
    dest = await add(client, area, "Folder", "dest")
    await share(client, dest, "reviewer", READER)
    return {"area": area, "proj": proj, "hr": hr, "salaries": salaries, "dest": dest}


async def test_move_of_a_subtree_holding_hidden_items_is_refused(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    tree = await _area(client, site)
    member = client.as_user("member")
    assert (await status(member, tree["proj"]), await status(member, tree["hr"])) == (200, 404)
    async with unchanged(tree["proj"], tree["hr"], tree["dest"]):
        for body in ({"destination": tree["dest"]}, {"destination": tree["dest"], "new_id": "p"}):
            resp = await member.post(f"{tree['proj']}/@move", json=body)
            error = assert_envelope(resp, 403, "Forbidden")
            assert "cannot see" in error["message"]
            assert error["details"] == {"permission": "baobab.View"}
            assert "hr" not in resp.text and "salaries" not in resp.text
    assert await status(member, f"{tree['dest']}/proj") == 404
    assert await status(client.as_user("reviewer"), f"{tree['dest']}/proj/hr/salaries") == 404


async def test_move_refused_for_hidden_items_at_any_depth(
    client: BaobabClient, site: str, unchanged: Unchanged
) -> None:
    tree = await _area(client, site)
    outer = await add(client, tree["area"], "Folder", "outer")
    await client.post(f"{tree['proj']}/@move", json={"destination": outer})
    member = client.as_user("member")
    async with unchanged(outer, f"{outer}/proj"):
        resp = await member.post(f"{outer}/@move", json={"destination": tree["dest"]})
        assert_envelope(resp, 403, "Forbidden")
    # the parts member sees entirely still move
    plan = f"{outer}/proj/plan"
    resp = await member.post(f"{plan}/@move", json={"destination": tree["dest"]})
    assert resp.status_code == 200, resp.text


async def test_rename_in_place_is_not_a_move_elsewhere(client: BaobabClient, site: str) -> None:
    tree = await _area(client, site)
    member = client.as_user("member")
    resp = await member.post(f"{tree['proj']}/@move", json={"new_id": "project"})
    assert resp.status_code == 200, resp.text
    # nothing's access changed: hr is where it was in the tree, as hidden as before
    assert await status(member, f"{tree['area']}/project/hr") == 404
    assert await status(client, f"{tree['area']}/project/hr/salaries") == 200


async def test_whoever_sees_the_whole_subtree_moves_it(client: BaobabClient, site: str) -> None:
    tree = await _area(client, site)
    resp = await client.as_user("siteadmin").post(
        f"{tree['proj']}/@move", json={"destination": tree["dest"]}
    )
    assert resp.status_code == 200, resp.text
    assert await status(client, f"{tree['dest']}/proj/hr/salaries") == 200


async def test_delete_takes_hidden_items_with_it(client: BaobabClient, site: str) -> None:
    """Deleting hands nothing out: like Plone, the folder goes with everything below it, and
    a hidden item does not pin it (nor answer differently: no oracle)."""
    tree = await _area(client, site)
    member = client.as_user("member")
    resp = await member.delete(tree["proj"])
    assert resp.status_code == 204, resp.text
    assert await status(client, tree["salaries"]) == 404


# -- random trees: the copy is exactly what the copier could reach by View ----------------


async def _random_tree(client: BaobabClient, rng: random.Random, path: str, depth: int) -> None:
    for i in range(rng.randint(1, 3)):
        folder = depth < 4 and rng.random() < 0.6
        child = await add(client, path, "Folder" if folder else "Document", f"n{i}")
        if rng.random() < 0.3:
            await client.post(f"{child}/@workflow/publish")
        if rng.random() < 0.25:
            await update_sharing(client, child, inherit=False)
        if rng.random() < 0.2:
            await share(client, child, "member", READER)
        if folder:
            await _random_tree(client, rng, child, depth + 1)


async def _walk(client: BaobabClient, path: str) -> list[str]:
    """Every path below ``path`` (root's view: all of them)."""
    found: list[str] = []
    for name in await items(client, path):
        child = f"{path}/{name}"
        found.append(child)
        if (await client.get(child)).json()["is_folderish"]:
            found += await _walk(client, child)
    return found


@pytest.mark.parametrize("seed", [3, 4, 5, 7, 9])  # trees with and without hidden items
async def test_random_trees_copy_what_was_reachable_and_move_only_when_all_is(
    client: BaobabClient, site: str, seed: int
) -> None:
    tree = await add(client, site, "Folder", "tree")
    await share(client, tree, "member", READER)
    await _random_tree(client, random.Random(seed), tree, 1)
    home = await home_for(client, site)
    member = client.as_user("member")
    everything = await _walk(client, tree)
    viewable = {p for p in everything if await status(member, p) == 200}

    # reachable: viewable, and so is every folder between it and the copied root
    def reachable_(path: str) -> bool:
        while path != tree:
            if path not in viewable:
                return False
            path = path.rpartition("/")[0]
        return True

    reachable = {p[len(tree) :] for p in everything if reachable_(p)}
    resp = await member.post(f"{tree}/@copy", json={"destination": home})
    assert resp.status_code == 201, resp.text
    copied = {p[len(f"{home}/tree") :] for p in await _walk(client, f"{home}/tree")}
    assert copied == reachable
    for rel in copied:  # all hers, private, and no one else's
        assert await status(member, f"{home}/tree{rel}") == 200
        assert await status(client.as_user("reviewer"), f"{home}/tree{rel}") == 404
    dest = await add(client, home, "Folder", "dest")
    await share(client, tree, "member", EDITOR)  # Delete objects on tree and what inherits
    await share(client, site, "member", EDITOR)  # … and on its parent
    seen_all = all([await status(member, p) == 200 for p in everything])
    resp = await member.post(f"{tree}/@move", json={"destination": dest})
    assert resp.status_code == (200 if seen_all else 403), resp.text
